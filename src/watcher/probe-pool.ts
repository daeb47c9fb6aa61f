// The daemon's probes run in one worker thread, so reading and parsing untrusted manifests (up to the size
// limit) and stat-ing a large bundle's files never runs on the event loop the API answers on. The same thread
// verifies folder bundles while they arrive (src/spool/stager.ts) when the daemon is configured to.
import type { StagerOptions } from '../spool/stager.js';
import { RequestWorker } from '../util/request-worker.js';
import type { Candidate } from './candidates.js';
import type { Probe, ProbeOptions } from './probe.js';

export type ProbeRequest = { kind: 'probe'; candidate: Candidate; handedOff?: string } | { kind: 'forget'; location: string } | { kind: 'reclaim' };

export interface ProbeWorkerData extends ProbeOptions {
  staging?: StagerOptions;
}

export class ProbeWorker {
  private readonly worker: RequestWorker<ProbeRequest, unknown>;

  constructor(opts: ProbeWorkerData = {}) {
    this.worker = new RequestWorker(new URL('./probe-worker.js', import.meta.url), opts);
  }

  readonly probe = (candidate: Candidate, handedOff?: string): Promise<Probe> =>
    this.worker.request({ kind: 'probe', candidate, ...(handedOff === undefined ? {} : { handedOff }) }) as Promise<Probe>;

  /** The drop is gone: its stager state goes (its copies stay until reclaimed). */
  readonly forget = async (location: string): Promise<void> => {
    await this.worker.request({ kind: 'forget', location });
  };

  /** Remove the copies of drops that stopped arriving long enough ago; the spool folders removed. */
  reclaim(): Promise<string[]> {
    return this.worker.request({ kind: 'reclaim' }) as Promise<string[]>;
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
