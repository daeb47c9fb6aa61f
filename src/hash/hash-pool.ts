// A small pool of worker threads running FileJobs: uses every core for directory bundles
// and keeps the event loop free (the daemon's API must answer while a bundle verifies).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileJob, FileJobResult } from './file-job.js';

interface Pending {
  resolve: (r: FileJobResult) => void;
  reject: (e: Error) => void;
  onBytes: ((n: number) => void) | undefined;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class HashPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(size = Math.max(1, Math.min(os.availableParallelism(), 8))) {
    this.size = size;
  }

  /** Run a job on the next free worker; resolves with its tally. */
  async run(job: FileJob, onBytes?: (n: number) => void): Promise<FileJobResult> {
    const slot = await this.acquire();
    const id = this.nextId++;
    try {
      return await new Promise<FileJobResult>((resolve, reject) => {
        this.pending.set(id, { resolve, reject, onBytes });
        slot.worker.postMessage({ id, job });
      });
    } finally {
      this.pending.delete(id);
      this.release(slot);
    }
  }

  /** Terminate the workers: running jobs reject, and so does every job still waiting for a worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      if (this.closed) throw new Error('hash pool closed');
      const free = this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      if (this.slots.length < this.size) {
        const slot = { worker: this.spawn(), busy: true };
        this.slots.push(slot);
        return slot;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.waiting.shift()?.();
  }

  private spawn(): Worker {
    // Job data sits in Buffers outside the JS heap; a small young generation keeps each worker's footprint down.
    // (No old-generation cap: loaders such as tap's coverage hooks need room, and a capped worker dies of OOM.)
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    worker.on(
      'message',
      (msg: {
        id: number;
        progress?: number;
        result?: FileJobResult;
        error?: { message: string; code?: string; path?: string; syscall?: string };
      }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        if (msg.progress) p.onBytes?.(msg.progress);
        if (msg.result) p.resolve(msg.result);
        else if (msg.error) p.reject(Object.assign(new Error(msg.error.message), msg.error));
      },
    );
    worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
    });
    // A worker gone mid-job (close() on an abort, or a crash): its callers hear about it instead of waiting forever.
    worker.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`hash worker exited (${code}) during a job`));
    });
    return worker;
  }
}
