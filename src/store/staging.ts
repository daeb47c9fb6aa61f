// A private staging area inside the store (same file system, mode 0700) that receives a bundle's bytes
// during the one verifying pass. Nothing in it is visible; whatever is left after a crash is removed
// by the next run. Each blob is staged once by sha256, and not at all when the store already holds it.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Expected, WalkSink } from '../format/payload.js';
import { writeAll } from '../util/write-all.js';
import { BLOB_MODE } from './content.js';
import { makeDir, removeTree } from './durable.js';
import { STAGING_DIR } from './layout.js';

export interface StagedBlob {
  file: string;
  size: number;
}

export class Staging {
  /** verified blobs waiting in staging, by sha256 */
  readonly staged = new Map<string, StagedBlob>();
  private readonly claimed = new Set<string>();
  private readonly writers = new Map<string, fsp.FileHandle>();
  private readonly copies = new Map<string, string>();
  private readonly unsynced: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly present: (sha256: string) => boolean,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** `present(sha)`: whether the store already holds that content (then bytes are hashed but not written). */
  static async create(store: string, present: (sha256: string) => boolean, signal?: AbortSignal): Promise<Staging> {
    const root = path.join(store, STAGING_DIR);
    await makeDir(root, 0o700);
    await fsp.chmod(root, 0o700);
    const dir = path.join(root, `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.mkdir(path.join(dir, 'blobs'), { mode: 0o700 });
    return new Staging(dir, present, signal);
  }

  get treeDir(): string {
    return path.join(this.dir, 'tree');
  }

  /** Stage small bytes known in advance (the manifest), already verified by their digest. */
  async stageBytes(sha256: string, bytes: Buffer): Promise<void> {
    if (this.present(sha256) || this.claimed.has(sha256)) return;
    const file = this.blobFile(sha256);
    this.claimed.add(sha256);
    const fh = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
      await fh.chmod(BLOB_MODE);
    } finally {
      await fh.close();
    }
    this.staged.set(sha256, { file, size: bytes.length });
  }

  /** The sink walkPayload writes through: exclusive create, never following a symlink; streamed entries are
   *  fsynced before they count as verified, worker copies by flush() before activation. */
  sink(): WalkSink {
    return {
      // Held in the store, or claimed by an entry earlier in this bundle (the walk stops at the first failure).
      holds: (sha) => this.present(sha) || this.claimed.has(sha),
      copyTarget: async (exp) => {
        if (!this.claim(exp)) return undefined;
        const file = this.blobFile(exp.sha256);
        this.copies.set(exp.path, file);
        return file;
      },
      // Streamed (tar) entries check the abort signal chunk by chunk, so one huge file does not delay an abort.
      open: async (exp) => {
        if (!this.claim(exp)) return () => this.signal?.throwIfAborted();
        const fh = await fsp.open(this.blobFile(exp.sha256), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        this.writers.set(exp.path, fh);
        return (chunk: Buffer) => {
          this.signal?.throwIfAborted();
          return writeAll(fh, chunk);
        };
      },
      verified: (exp) => this.verified(exp),
      discarded: (exp) => this.discarded(exp),
      adopt: (exp, file) => this.adopt(exp, file),
    };
  }

  /** fsync every blob a worker copied: all of them must be on disk before anything is activated. */
  async flush(): Promise<void> {
    const files = this.unsynced.splice(0);
    const next = () => files.pop();
    const syncer = async () => {
      for (let f = next(); f !== undefined; f = next()) {
        this.signal?.throwIfAborted();
        const fh = await fsp.open(f, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    };
    // Several at once: the kernel merges their writeback; one at a time would wait on each in turn.
    await Promise.all(Array.from({ length: 8 }, syncer));
  }

  async dispose(): Promise<void> {
    for (const fh of this.writers.values()) await fh.close().catch(() => undefined);
    this.writers.clear();
    await removeTree(this.dir);
  }

  private claim(exp: Expected): boolean {
    if (this.present(exp.sha256) || this.claimed.has(exp.sha256)) return false;
    this.claimed.add(exp.sha256);
    return true;
  }

  private blobFile(sha256: string): string {
    return path.join(this.dir, 'blobs', sha256);
  }

  private async verified(exp: Expected): Promise<void> {
    const fh = this.writers.get(exp.path);
    let file = this.copies.get(exp.path);
    if (fh) {
      this.writers.delete(exp.path);
      try {
        await fh.sync();
        await fh.chmod(BLOB_MODE);
      } finally {
        await fh.close();
      }
      file = this.blobFile(exp.sha256);
    } else if (file !== undefined) {
      // Worker copies are fsynced together by flush(), so the disk writes back while reading goes on.
      await fsp.chmod(file, BLOB_MODE);
      this.unsynced.push(file);
    }
    if (file !== undefined) this.staged.set(exp.sha256, { file, size: exp.size });
  }

  // A verified copy made while the bundle arrived (already fsynced, mode BLOB_MODE): linked in, so the copy it came
  // from stays whole if this install fails. A file system without hard links gets a copy.
  private async adopt(exp: Expected, file: string): Promise<boolean> {
    if (!this.claim(exp)) return true;
    const dest = this.blobFile(exp.sha256);
    try {
      await fsp.link(file, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'ENOTSUP') {
        this.claimed.delete(exp.sha256);
        return false;
      }
      try {
        await fsp.copyFile(file, dest, constants.COPYFILE_EXCL);
        await fsp.chmod(dest, BLOB_MODE);
        this.unsynced.push(dest);
      } catch {
        await fsp.rm(dest, { force: true });
        this.claimed.delete(exp.sha256);
        return false;
      }
    }
    const st = await fsp.lstat(dest).catch(() => undefined);
    if (!st?.isFile() || st.size !== exp.size) {
      await fsp.rm(dest, { force: true });
      this.claimed.delete(exp.sha256);
      return false;
    }
    this.staged.set(exp.sha256, { file: dest, size: exp.size });
    return true;
  }

  private async discarded(exp: Expected): Promise<void> {
    const fh = this.writers.get(exp.path);
    if (fh) {
      this.writers.delete(exp.path);
      await fh.close();
    }
    if (fh || this.copies.has(exp.path)) {
      await fsp.rm(this.blobFile(exp.sha256), { force: true });
      this.claimed.delete(exp.sha256);
    }
  }
}
