// The daemon's probes run in one worker thread, so reading and parsing untrusted manifests (up to the size
// limit) and stat-ing a large bundle's files never runs on the event loop the API answers on.
import { RequestWorker } from '../util/request-worker.js';
import type { Candidate } from './candidates.js';
import type { Probe, ProbeOptions } from './probe.js';

export class ProbeWorker {
  private readonly worker: RequestWorker<Candidate, Probe>;

  constructor(opts: ProbeOptions = {}) {
    this.worker = new RequestWorker(new URL('./probe-worker.js', import.meta.url), opts);
  }

  readonly probe = (candidate: Candidate): Promise<Probe> => this.worker.request(candidate);

  close(): Promise<void> {
    return this.worker.close();
  }
}
