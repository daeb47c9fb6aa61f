// Unpack runs inside the spool worker (unpacker.ts), one per spool, driven by requests: start one, announce each
// part spooled, wait for news (a long poll: answered at the next progress or at the end), stop one. One worker
// thread for all of the spool's reading keeps the daemon's memory flat (a thread costs tens of MB).
import { toAirlockError } from '../errors.js';
import { PartsFeed, unpackSpool, type UnpackMessage, type UnpackRequest } from './unpacker.js';

/** Where an unpack run stands; `seq` grows with every change. */
export interface UnpackStatus {
  seq: number;
  unpackedParts: number;
  end?: Extract<UnpackMessage, { type: 'done' | 'failed' }>;
}

interface Run {
  feed: PartsFeed;
  controller: AbortController;
  status: UnpackStatus;
  waiters: Array<() => void>;
}

export class UnpackJobs {
  private readonly runs = new Map<number, Run>();
  private next = 1;

  start(req: UnpackRequest): number {
    const id = this.next++;
    const run: Run = { feed: new PartsFeed(req.spooled), controller: new AbortController(), status: { seq: 0, unpackedParts: 0 }, waiters: [] };
    this.runs.set(id, run);
    const change = (m: UnpackMessage) => {
      if (run.status.end) return;
      run.status = {
        seq: run.status.seq + 1,
        unpackedParts: m.type === 'progress' ? m.unpackedParts : run.status.unpackedParts,
        ...(m.type === 'progress' ? {} : { end: m }),
      };
      const w = run.waiters;
      run.waiters = [];
      for (const fn of w) fn();
    };
    unpackSpool(req, run.feed, change, run.controller.signal).catch((err: unknown) => {
      const e = toAirlockError(err);
      change({ type: 'failed', code: e.code, message: e.message });
    });
    return id;
  }

  part(id: number, name: string): void {
    this.runs.get(id)?.feed.add(name);
  }

  /** The run's status once it differs from `seen` (its seq); at once when it already does. */
  async wait(id: number, seen: number): Promise<UnpackStatus> {
    const run = this.runs.get(id);
    if (!run) return { seq: seen + 1, unpackedParts: 0, end: { type: 'failed', code: 'INTERNAL', message: `no unpack run ${id}` } };
    while (run.status.seq === seen) await new Promise<void>((resolve) => run.waiters.push(resolve));
    const status = run.status;
    if (status.end) this.runs.delete(id);
    return status;
  }

  stop(id: number): void {
    const run = this.runs.get(id);
    if (!run) return;
    run.controller.abort();
    run.feed.wakeAll();
  }
}
