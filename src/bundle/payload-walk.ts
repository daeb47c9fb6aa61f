// One pass over a bundle's entries: classify each from its header, read each listed byte once,
// hash it (in workers for directory and single-tar bundles), optionally hand it to a sink, and collect failures.
import { createReadStream } from 'node:fs';
import { AirlockError, FailureList, type Failure } from '../errors.js';
import { tallyBody } from '../hash/digest.js';
import type { HashPool } from '../hash/hash-pool.js';
import type { Expected, Prestaged, WalkSink } from '../format/payload.js';
import { EntryChecker } from './entry-checker.js';

export type { WalkSink } from '../format/payload.js';
import type { BundleEntry, EntryData, OpenedBundle } from './source.js';

export interface WalkOptions {
  pool?: HashPool;
  sink?: WalkSink;
  /** stop at the first failure (install) instead of collecting every one (verify) */
  failFast?: boolean;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
  /** copies verified while the bundle arrived: an entry still the very file one was made from is not read again */
  prestaged?: Prestaged;
}

export interface WalkResult {
  /** capped: hostile bundles can hold millions of wrong entries */
  failures: FailureList;
  bytesVerified: number;
  filesVerified: number;
  bytesExpected: number;
  /** of bytesVerified, those verified before the walk (taken from `prestaged`) */
  bytesPrestaged: number;
}

class StopWalk extends Error {}

/** Streamed entries whose sink may still be finishing (fsync) while the walk reads on. */
const MAX_FINISHING = 8;

export async function walkPayload(bundle: OpenedBundle, opts: WalkOptions = {}): Promise<WalkResult> {
  const checker = new EntryChecker(bundle.manifest, new Set(Object.keys(bundle.imagePulls ?? {})));
  const failures = new FailureList();
  const result: WalkResult = { failures, bytesVerified: 0, filesVerified: 0, bytesExpected: checker.bytesExpected, bytesPrestaged: 0 };
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
    const holds = opts.sink?.holds?.bind(opts.sink);
    for await (const entry of bundle.entries(holds ? { held: holds } : {})) {
      opts.signal?.throwIfAborted();
      if (jobError) throw jobError.err;
      if (!failures.empty && opts.failFast) break;
      if (entry.failure) {
        checker.markSeen(entry.path);
        fail(entry.failure);
        continue;
      }
      const decision = checker.classify(entry);
      if (decision.action === 'skip') continue;
      if (decision.action === 'reject') {
        fail(decision.failure);
        continue;
      }
      const exp = decision.expected;
      if (entry.held) {
        // Not fetched: the store holds this content already (verified when it arrived), as the sink said.
        if (holds?.(exp.sha256) !== true)
          fail({ code: 'INTERNAL', path: exp.path, message: `${exp.path} was skipped as held, but the store lacks it` });
        else opts.onBytes?.(exp.size);
        continue;
      }
      if (await adoptPrestaged(exp, entry, opts)) {
        result.bytesVerified += exp.size;
        result.bytesPrestaged += exp.size;
        result.filesVerified++;
        opts.onBytes?.(exp.size);
        continue;
      }
      // Opened now, while the walk still holds the entry's folder: a swapped file fails here, by itself.
      const data = await openData(entry);
      if (data instanceof AirlockError) {
        fail({ code: data.code, path: exp.path, message: data.message });
        continue;
      }
      if (data && opts.pool) {
        const copyTo = await opts.sink?.copyTarget?.(exp).catch(async (err: unknown) => {
          await data.release();
          throw err;
        });
        const region = data.offset === undefined ? {} : { offset: data.offset };
        const job = opts.pool
          .run({ file: exp.path, fd: data.fd, limit: exp.size, ...region, ...(copyTo ? { copyTo } : {}) }, opts.onBytes)
          .finally(() => data.release())
          .then(async (tally) => {
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
      const body = data ? fdBody(data, exp.size) : (entry.body ?? emptyBody());
      const tally = await tallyBody(body, exp.size, write, opts.onBytes).finally(() => data?.release());
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
  if (!(opts.failFast && !failures.empty)) failures.pushAll(checker.missing());
  return result;
}

/** Hand the sink the copy verified earlier when the entry is still the file it was made from (same stamp). */
async function adoptPrestaged(exp: Expected, entry: BundleEntry, opts: WalkOptions): Promise<boolean> {
  if (!opts.prestaged || !entry.stamp || !opts.sink?.adopt) return false;
  const file = opts.prestaged.lookup(exp, entry.stamp);
  return file !== undefined && (await opts.sink.adopt(exp, file));
}

async function openData(entry: BundleEntry): Promise<EntryData | AirlockError | undefined> {
  if (!entry.open) return undefined;
  try {
    return await entry.open();
  } catch (err) {
    if (err instanceof AirlockError) return err;
    throw err;
  }
}

// Inline reading of an opened entry (no pool): one byte past the limit is asked for, so growth shows as overflow.
function fdBody(data: EntryData, size: number): AsyncIterable<Buffer> {
  const start = data.offset ?? 0;
  const end = data.offset === undefined ? start + size : start + size - 1;
  if (data.offset !== undefined && size === 0) return emptyBody();
  return createReadStream('', { fd: data.fd, start, end, autoClose: false, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
}

async function* emptyBody(): AsyncGenerator<Buffer> {}
