// A spool: the verified copies of one drop's files, made while the drop still arrives (stager.ts), kept across
// daemon restarts, and taken by the install instead of reading those files again (prestaged.ts). It lives in the
// store's file system (STORE/daemon/spool/KEY), so a copy becomes store content by a hard link, never a second copy.
//
//   KEY/journal.jsonl   a header line (the drop, the manifest digest), then one line per verified copy
//   KEY/blobs/SHA256    the copies, fsynced before their line is written, mode 0444
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { SourceStamp } from '../format/payload.js';
import { fsyncDir, removeTree } from '../store/durable.js';
import { mapLimited } from '../util/map-limited.js';
import { firstSchemaProblem } from '../util/schemas.js';

export const SPOOL_SCHEMA = 'airlock.staged-journal/v1';
const JOURNAL = 'journal.jsonl';
const BLOBS = 'blobs';
const TEMP_PREFIX = '.tmp-';
/** fsyncs at once: the kernel merges their write-back */
const SYNC_LANES = 8;

export interface SpoolHeader {
  schema: typeof SPOOL_SCHEMA;
  location: string;
  manifestDigest: string;
  createdAt: string;
}

export interface SpoolEntry {
  path: string;
  sha256: string;
  size: number;
  stamp: SourceStamp;
}

/** The spool folder of a drop: named by its location, so a restart finds it again. */
export function spoolKey(location: string): string {
  return createHash('sha256').update(path.resolve(location)).digest('hex').slice(0, 32);
}

export class Spool {
  /** the newest line per path */
  readonly entries = new Map<string, SpoolEntry>();
  private lines = 0;
  private appending: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly header: SpoolHeader,
  ) {}

  /** The drop's spool as the journal describes it; undefined when there is none (or its journal is unreadable). */
  static async open(root: string, location: string): Promise<Spool | undefined> {
    const dir = path.join(root, spoolKey(location));
    let stream;
    try {
      const fh = await fsp.open(path.join(dir, JOURNAL), constants.O_RDONLY | constants.O_NOFOLLOW);
      stream = fh.createReadStream({ encoding: 'utf8' });
    } catch {
      return undefined;
    }
    let spool: Spool | undefined;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        const doc = parseLine(line);
        if (!spool) {
          if (!isHeader(doc) || doc.location !== path.resolve(location)) return undefined;
          spool = new Spool(dir, doc);
          continue;
        }
        // Lines are appended whole; a crash can cut only the last one, and everything from there on is ignored.
        if (!isEntry(doc)) break;
        spool.entries.set(doc.path, doc);
        spool.lines++;
      }
    } finally {
      lines.close();
      stream.destroy();
    }
    return spool;
  }

  /** A new, empty spool for `location` and this manifest; whatever the drop's spool held before is removed. */
  static async create(root: string, location: string, manifestDigest: string): Promise<Spool> {
    await fsp.mkdir(root, { recursive: true, mode: 0o700 });
    const dir = path.join(root, spoolKey(location));
    await removeTree(dir);
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.mkdir(path.join(dir, BLOBS), { mode: 0o700 });
    const header: SpoolHeader = { schema: SPOOL_SCHEMA, location: path.resolve(location), manifestDigest, createdAt: new Date().toISOString() };
    const fh = await fsp.open(path.join(dir, JOURNAL), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(JSON.stringify(header) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsyncDir(dir);
    return new Spool(dir, header);
  }

  blobPath(sha256: string): string {
    return path.join(this.dir, BLOBS, sha256);
  }

  /** A fresh name for a copy being made (renamed to its sha256 once verified). */
  tempPath(): string {
    return path.join(this.dir, BLOBS, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  }

  async hasBlob(sha256: string, size: number): Promise<boolean> {
    const st = await fsp.lstat(this.blobPath(sha256)).catch(() => undefined);
    return st !== undefined && st.isFile() && st.size === size;
  }

  /** Whether the spool is still on disk (an install removes it once it took the copies). */
  async alive(): Promise<boolean> {
    return fsp.lstat(path.join(this.dir, JOURNAL)).then(
      (st) => st.isFile(),
      () => false,
    );
  }

  /**
   * Record a verified copy. `temp` (verified, not yet synced) becomes blobs/SHA256 unless that blob exists
   * already; without `temp` the blob must exist (the same content staged for another path). Copies that finish
   * together are committed together: each fsynced, renamed, then all their journal lines in one append, so a line
   * never names a copy that a crash could lose, and many small files do not cost a journal commit each.
   */
  add(entry: SpoolEntry, temp?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ entry, ...(temp === undefined ? {} : { temp }), resolve, reject });
      if (this.waiting.length === 1) this.appending = this.appending.then(() => this.commit());
    });
  }

  private readonly waiting: Array<{ entry: SpoolEntry; temp?: string; resolve: () => void; reject: (err: unknown) => void }> = [];

  private async commit(): Promise<void> {
    const batch = this.waiting.splice(0);
    try {
      await mapLimited(batch, SYNC_LANES, async ({ temp }) => {
        if (temp === undefined) return;
        const fh = await fsp.open(temp, constants.O_RDONLY | constants.O_NOFOLLOW);
        await fh.sync().finally(() => fh.close());
      });
      for (const { entry, temp } of batch) {
        if (temp === undefined) continue;
        if (await this.hasBlob(entry.sha256, entry.size)) await fsp.rm(temp, { force: true });
        else await fsp.rename(temp, this.blobPath(entry.sha256));
      }
      await this.appendLines(batch.map((b) => b.entry));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  /** Remove stray temporaries and copies no line names (their lines were lost in a crash). */
  async sweep(): Promise<void> {
    const wanted = new Set([...this.entries.values()].map((e) => e.sha256));
    const names = await fsp.readdir(path.join(this.dir, BLOBS)).catch(() => [] as string[]);
    for (const n of names) if (!wanted.has(n)) await fsp.rm(path.join(this.dir, BLOBS, n), { force: true });
  }

  async remove(): Promise<void> {
    await this.appending;
    await removeTree(this.dir);
  }

  private async appendLines(entries: SpoolEntry[]): Promise<void> {
    // O_APPEND, one write: lines are whole, or (after a crash) the last ones cut.
    const text = entries.map((e) => JSON.stringify(e) + '\n').join('');
    await fsp.appendFile(path.join(this.dir, JOURNAL), text, { flag: constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW });
    for (const e of entries) this.entries.set(e.path, e);
    this.lines += entries.length;
    // A file staged again and again (a writer that keeps changing it) would grow the journal without bound.
    if (this.lines > 2 * this.entries.size + 1024) await this.compact();
  }

  private async compact(): Promise<void> {
    const text = [this.header, ...this.entries.values()].map((d) => JSON.stringify(d) + '\n').join('');
    const temp = path.join(this.dir, `${TEMP_PREFIX}${JOURNAL}`);
    await fsp.writeFile(temp, text, { mode: 0o600 });
    const fh = await fsp.open(temp, constants.O_RDONLY);
    await fh.sync().finally(() => fh.close());
    await fsp.rename(temp, path.join(this.dir, JOURNAL));
    this.lines = this.entries.size;
  }
}

export async function removeSpool(root: string, location: string): Promise<void> {
  await removeTree(path.join(root, spoolKey(location)));
}

export interface SpoolListing {
  key: string;
  dir: string;
  /** when its journal last changed (ms since epoch): a copy added, or created */
  changedAt: number;
}

/** Every spool folder under `root`; anything that is not one (a stray file, a spool without a journal) too, changedAt its own mtime. */
export async function listSpools(root: string): Promise<SpoolListing[]> {
  const names = await fsp.readdir(root).catch(() => [] as string[]);
  const out: SpoolListing[] = [];
  for (const key of names) {
    const dir = path.join(root, key);
    const st = (await fsp.lstat(path.join(dir, JOURNAL)).catch(() => undefined)) ?? (await fsp.lstat(dir).catch(() => undefined));
    if (st) out.push({ key, dir, changedAt: st.mtimeMs });
  }
  return out;
}

function parseLine(line: string): unknown {
  try {
    const doc: unknown = JSON.parse(line);
    return firstSchemaProblem('spool-journal', doc) === undefined ? doc : undefined;
  } catch {
    return undefined;
  }
}

function isHeader(doc: unknown): doc is SpoolHeader {
  return typeof doc === 'object' && doc !== null && (doc as { schema?: unknown }).schema === SPOOL_SCHEMA;
}

function isEntry(doc: unknown): doc is SpoolEntry {
  return typeof doc === 'object' && doc !== null && typeof (doc as { path?: unknown }).path === 'string';
}
