// At most `limit` async jobs at once, fed one by one from a loop (a walk that opens a descriptor per job):
// `run` waits for a free lane before starting the job, so the loop never runs ahead of the work. The first
// failure is kept; `drain` waits for every started job and throws it.
export class Lanes {
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Start `job` once a lane is free; throws (without starting it) once a job has failed. */
  async run(job: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure.err;
    const p: Promise<void> = job()
      .catch((err: unknown) => void (this.failure ??= { err }))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Wait for every started job; throw the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.err;
  }

  /** Wait for every started job, whatever happened (cleanup after an error elsewhere). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}
