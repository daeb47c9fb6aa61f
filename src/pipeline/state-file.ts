// The daemon's durable state (STORE/daemon/bundles.json): written atomically so a crash leaves the old or the new file, never half of one.
import { promises as fsp } from 'node:fs';
import { AirlockError } from '../errors.js';
import { writeFileAtomic } from '../store/durable.js';
import { schemaProblems } from '../util/schemas.js';
import type { BundleRecord, ProcessedEntry } from './types.js';

export const STATE_SCHEMA_VERSION = 'airlock.daemon-state/v1';

export interface DaemonStateDocument {
  schema: typeof STATE_SCHEMA_VERSION;
  records: BundleRecord[];
  /** manifest digest → what happened to it */
  processed: Record<string, ProcessedEntry>;
}

export async function readStateFile(file: string): Promise<DaemonStateDocument | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('STORE_INVALID', `daemon state ${file} is not JSON`, { path: file, cause: err });
  }
  const problems = schemaProblems('daemon-state', doc);
  if (problems.length > 0) {
    throw new AirlockError('STORE_INVALID', `daemon state ${file}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { path: file });
  }
  return doc as DaemonStateDocument;
}

export interface DurableWriterOptions {
  /** each failed write (logged; the write is tried again) */
  onError(err: unknown): void;
  /** the state cannot be kept: `maxFailures` writes in a row failed, or one has not completed in `timeoutMs` */
  onFatal(err: unknown): void;
  /** consecutive failed writes that are fatal (default 3) */
  maxFailures?: number;
  /** wait before trying a failed write again (default 1000 ms) */
  retryMs?: number;
  /** a write still running after this long is fatal (default 60 s: the disk is hung) */
  timeoutMs?: number;
}

/**
 * Serialises writes: a save requested while one is in flight is coalesced into one more write of the latest state.
 * A failed write is tried again; a daemon that cannot keep its state must not linger half-alive, so a run of
 * failures (or a write that hangs) is reported as fatal.
 */
export class StateWriter {
  private inFlight: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private fatal = false;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => DaemonStateDocument,
    private readonly o: DurableWriterOptions,
  ) {}

  save(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.inFlight = (async () => {
      const hung = setTimeout(
        () =>
          this.die(
            new AirlockError('IO_ERROR', `writing ${this.file} has not completed within ${(this.o.timeoutMs ?? 60000) / 1000} s`, {
              path: this.file,
            }),
          ),
        this.o.timeoutMs ?? 60000,
      );
      hung.unref();
      try {
        do {
          this.again = false;
          await writeFileAtomic(this.file, JSON.stringify(this.snapshot(), null, 1) + '\n', 0o600);
        } while (this.again);
        this.failures = 0;
      } catch (err) {
        this.failed(err);
      } finally {
        clearTimeout(hung);
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** Wait for the writes in flight; a write waiting to be tried again is tried now. */
  async flush(): Promise<void> {
    if (this.retry && !this.fatal) await this.save();
    while (this.inFlight) await this.inFlight;
  }

  private failed(err: unknown): void {
    this.failures++;
    this.o.onError(err);
    if (this.failures >= (this.o.maxFailures ?? 3)) return this.die(err);
    this.retry = setTimeout(() => void this.save(), this.o.retryMs ?? 1000);
    this.retry.unref();
  }

  private die(err: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    this.o.onFatal(err);
  }
}
