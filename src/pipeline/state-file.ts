// The daemon's durable state (STORE/daemon/bundles.json): written atomically so a crash leaves the old or the new file, never half of one.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
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

/** Write temp + fsync + rename + fsync of the folder. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
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
          await writeFileAtomic(this.file, JSON.stringify(this.snapshot(), null, 1) + '\n');
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
