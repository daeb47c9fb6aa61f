// One pass over a bundle's entries: classify each from its header, read each listed byte once,
// hash it (in workers for directory and single-tar bundles), optionally hand it to a sink, and collect failures.
import type { Failure } from '../errors.js';
import { tallyBody } from '../hash/digest.js';
import type { HashPool } from '../hash/hash-pool.js';
import { EntryChecker, type Expected } from './entry-checker.js';
import type { OpenedBundle } from './open-bundle.js';

export interface WalkSink {
  /** Where a worker should copy a file it reads directly (reads and writes off the event loop; not fsynced). */
  copyTarget?(exp: Expected): Promise<string | undefined>;
  /** Receives the bytes of a tar entry as they stream; called once per entry before its first chunk. */
  open?(exp: Expected): Promise<(chunk: Buffer) => Promise<void> | void>;
  /** Called when an entry verified; `close` (for streamed entries) finishes its file. */
  verified?(exp: Expected): Promise<void>;
  /** Called when an entry failed after its sink was opened, so partial output can be discarded. */
  discarded?(exp: Expected): Promise<void>;
}

export interface WalkOptions {
  pool?: HashPool;
  sink?: WalkSink;
  /** stop at the first failure (install) instead of collecting every one (verify) */
  failFast?: boolean;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

export interface WalkResult {
  failures: Failure[];
  bytesVerified: number;
  filesVerified: number;
  bytesExpected: number;
}

class StopWalk extends Error {}

/** Streamed entries whose sink may still be finishing (fsync) while the walk reads on. */
const MAX_FINISHING = 8;

export async function walkPayload(bundle: OpenedBundle, opts: WalkOptions = {}): Promise<WalkResult> {
  const checker = new EntryChecker(bundle.manifest);
  const failures: Failure[] = [];
  const result: WalkResult = { failures, bytesVerified: 0, filesVerified: 0, bytesExpected: checker.bytesExpected };
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = (opts.pool?.size ?? 1) * 2;

  const fail = (f: Failure) => {
    failures.push(f);
    if (opts.failFast) throw new StopWalk();
  };
  const settle = (exp: Expected, tally: { size: number; sha256: string; overflow: boolean }) => {
    const f = checker.verdict(exp, tally);
    if (f) return f;
    result.bytesVerified += tally.size;
    result.filesVerified++;
    return undefined;
  };

  // A worker job that throws (ENOSPC, EIO) is remembered and rethrown here, never left as an unhandled rejection.
  let jobError: { err: unknown } | undefined;
  const track = async (job: Promise<void>, limit: number) => {
    const tracked: Promise<void> = job.catch((err: unknown) => void (jobError ??= { err })).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  };
  try {
    for await (const entry of bundle.entries()) {
      opts.signal?.throwIfAborted();
      if (jobError) throw jobError.err;
      if (failures.length > 0 && opts.failFast) break;
      const decision = checker.classify(entry);
      if (decision.action === 'skip') continue;
      if (decision.action === 'reject') {
        fail(decision.failure);
        continue;
      }
      const exp = decision.expected;
      if (entry.file !== undefined && opts.pool) {
        const copyTo = await opts.sink?.copyTarget?.(exp);
        const region = entry.offset === undefined ? {} : { offset: entry.offset };
        const job = opts.pool.run({ file: entry.file, limit: exp.size, ...region, ...(copyTo ? { copyTo } : {}) }, opts.onBytes).then(async (tally) => {
          const f = settle(exp, tally);
          if (f) {
            if (copyTo) await opts.sink?.discarded?.(exp);
            failures.push(f);
          } else await opts.sink?.verified?.(exp);
        });
        await track(job, maxInFlight);
        continue;
      }
      const write = await opts.sink?.open?.(exp);
      const tally = await tallyBody(entry.body ?? emptyBody(), exp.size, write, opts.onBytes);
      const f = settle(exp, tally);
      if (f) {
        if (write) await opts.sink?.discarded?.(exp);
        fail(f);
      } else {
        // The sink's fsync of this entry runs while the next one streams; all are awaited before returning.
        const finishing = opts.sink?.verified?.(exp);
        if (finishing) await track(finishing, MAX_FINISHING);
      }
    }
    await Promise.all(inFlight);
    if (jobError) throw jobError.err;
  } catch (err) {
    await Promise.allSettled(inFlight);
    if (!(err instanceof StopWalk)) throw err;
    return result;
  }
  if (!(opts.failFast && failures.length > 0)) failures.push(...checker.missing());
  return result;
}

async function* emptyBody(): AsyncGenerator<Buffer> {}
