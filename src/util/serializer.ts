// Run async jobs one at a time per key, in the order they were asked for: the daemon's one writer for the
// store, and one container replacement per model at a time.
export class Serializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Queue `fn` behind every job for `key` asked for before it; resolves or rejects as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return mine;
  }

  /** Jobs queued or running for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
