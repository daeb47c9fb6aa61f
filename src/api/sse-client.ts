// One event-stream client with a bounded buffer. Node buffers whatever a socket cannot send yet, without limit;
// a client that never reads would make the daemon hold every event for it. Here a client is dropped as soon as
// more than `budgetBytes` wait for it in the daemon when the next message comes (so at most the budget and one
// message, itself bounded by the record caps, are ever held; the kernel's socket buffers come on top).
import type { ServerResponse } from 'node:http';

export class SseClient {
  private closed = false;
  private replaying = true;
  private queued: string[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly budgetBytes: number,
    private readonly onDrop: () => void,
  ) {
    res.on('close', () => (this.closed = true));
    // A write racing the peer's reset must not become an unhandled 'error'.
    res.on('error', () => (this.closed = true));
  }

  /** Send one message, or drop the client if it has left more than the budget unread. */
  send(text: string): void {
    if (this.closed) return;
    if (this.replaying) {
      // Live events during the replay wait here, counted against the same budget.
      if (this.queuedBytes > this.budgetBytes) return this.drop();
      this.queued.push(text);
      this.queuedBytes += Buffer.byteLength(text);
      return;
    }
    if (this.res.writableLength > this.budgetBytes) return this.drop();
    this.res.write(text);
  }

  /**
   * The initial replay, written only as fast as the client reads it (so a large one never piles up here);
   * a client that has not taken it within `deadlineMs` is dropped.
   */
  async replay(messages: Iterable<string>, deadlineMs: number): Promise<void> {
    const deadline = setTimeout(() => this.drop(), deadlineMs);
    try {
      for (const m of messages) {
        if (this.closed) return;
        if (!this.res.write(m)) await this.drained();
      }
    } finally {
      clearTimeout(deadline);
    }
    this.replaying = false;
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const m of queued) this.send(m);
  }

  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    this.onDrop();
    this.res.destroy();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
