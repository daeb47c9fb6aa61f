// A deadline on a bundle step that makes no progress (TUF's "slow retrieval" attack, and a read that never
// returns: a FIFO, a hung stick). The step's promise is raced, not trusted to settle: once the guard gives up,
// the queue moves on even if that promise stays pending forever; whatever it settles with later is ignored.
import { AirlockError } from '../errors.js';

export class StallGuard {
  private timer: NodeJS.Timeout | undefined;
  private fail: ((err: Error) => void) | undefined;
  private doing = '';

  /** `onStall` runs once when the deadline passes (e.g. abort the step's signal so it can wind down). */
  constructor(
    private readonly stallMs: number,
    private readonly onStall: () => void = () => {},
  ) {}

  /** The step made progress: its deadline starts again. */
  touch(): void {
    if (this.fail) this.arm();
  }

  /** Settles with `step`, or rejects with STALLED once `stallMs` pass without progress, whichever comes first. */
  run<T>(step: Promise<T>, doing: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // A step that settles late (after a stall or abandon) must not disarm the step that runs now.
      const settle = (fn: () => void) => {
        if (this.fail === fail) this.clear();
        fn();
      };
      const fail = (err: Error) => settle(() => reject(err));
      this.doing = doing;
      this.fail = fail;
      this.arm();
      step.then(
        (v) => settle(() => resolve(v)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** Stop waiting for the current step (shutdown): it rejects with `err` now. */
  abandon(err: Error): void {
    this.fail?.(err);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const fail = this.fail;
      this.onStall();
      fail?.(
        new AirlockError(
          'STALLED',
          `no progress for ${this.stallMs / 1000} s while ${this.doing}; gave up on this bundle (retry it once the drop is fixed)`,
        ),
      );
    }, this.stallMs);
    // The guard never keeps a process alive by itself.
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fail = undefined;
  }
}
