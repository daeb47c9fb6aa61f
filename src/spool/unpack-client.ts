// The daemon's handle on one unpack run in the spool worker (unpack-jobs.ts): started once a spool's first part is
// in, told of each further part, listened to with a long poll, stopped when its spool goes.
import type { SpoolIo } from './spool-client.js';
import type { UnpackMessage, UnpackRequest } from './unpacker.js';

export class UnpackRun {
  private id: number | undefined;
  private ended = false;
  private readonly pending: string[] = [];

  constructor(
    private readonly io: SpoolIo,
    req: UnpackRequest,
    private readonly onMessage: (m: UnpackMessage) => void,
  ) {
    void this.run(req);
  }

  private async run(req: UnpackRequest): Promise<void> {
    try {
      this.id = await this.io.unpackStart(req);
      for (const name of this.pending.splice(0)) await this.io.unpackPart(this.id, name);
      let seen = 0;
      while (!this.ended) {
        const s = await this.io.unpackWait(this.id, seen);
        seen = s.seq;
        if (this.ended) return;
        if (s.end) {
          this.ended = true;
          this.onMessage(s.end);
          return;
        }
        this.onMessage({ type: 'progress', unpackedParts: s.unpackedParts });
      }
    } catch (err) {
      // The worker went (restarted after a hung stick, or the daemon stops): the run is over.
      if (!this.ended) {
        this.ended = true;
        this.onMessage({ type: 'failed', code: 'ABORTED', message: `unpacking stopped: ${(err as Error).message}` });
      }
    }
  }

  part(name: string): void {
    if (this.ended) return;
    if (this.id === undefined) this.pending.push(name);
    else void this.io.unpackPart(this.id, name).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.id !== undefined) await this.io.unpackStop(this.id).catch(() => undefined);
  }
}
