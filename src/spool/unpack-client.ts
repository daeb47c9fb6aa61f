// The daemon's handle on one unpack worker (unpack-worker.ts): started once a spool's first part is in, told of
// each further part, stopped when its spool goes.
import { Worker } from 'node:worker_threads';
import type { UnpackMessage, UnpackRequest } from './unpacker.js';

const WORKER_URL = new URL('./unpack-worker.js', import.meta.url);

export class UnpackRun {
  private readonly worker: Worker;
  private ended = false;

  constructor(req: UnpackRequest, onMessage: (m: UnpackMessage) => void) {
    this.worker = new Worker(WORKER_URL, { workerData: req, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.worker.on('message', onMessage);
    // A worker that dies without a word (out of memory on a hostile tar) has failed.
    this.worker.on('error', (err) => onMessage({ type: 'failed', code: 'INTERNAL', message: err.message }));
    this.worker.on('exit', (code) => {
      if (!this.ended && code !== 0) onMessage({ type: 'failed', code: 'INTERNAL', message: `the unpack worker exited (${code})` });
      this.ended = true;
    });
    this.worker.unref();
  }

  part(name: string): void {
    if (!this.ended) this.worker.postMessage({ type: 'part', name });
  }

  async stop(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.worker.postMessage({ type: 'stop' });
    await this.worker.terminate();
  }
}
