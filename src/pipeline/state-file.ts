// The daemon's durable state (STORE/daemon/bundles.json): written atomically so a crash leaves the old or the new file, never half of one.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
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

/** Serialises writes: a save requested while one is in flight is coalesced into one more write of the latest state. */
export class StateWriter {
  private inFlight: Promise<void> | undefined;
  private again = false;

  constructor(private readonly file: string, private readonly snapshot: () => DaemonStateDocument, private readonly onError: (err: unknown) => void) {}

  save(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          await writeFileAtomic(this.file, JSON.stringify(this.snapshot(), null, 1) + '\n', 0o600);
        } while (this.again);
      } catch (err) {
        this.onError(err);
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }
}
