// Read one copy of a part from where it lies (a stick, a drop folder): opened without blocking or following a
// link below its watched root, refused unless it is a regular file at the part's size, then read once from
// start to end, hashed as it is read and, for a part still needed, written to a private file in the spool
// (fsynced before the answer says done). The work comes in steps so the daemon sees progress (and a stick that
// hangs is noticed: a step that never answers). What the copy holds is decided by its hash alone, so a file
// swapped or rewritten while it is read can never slip in: the bytes kept are the bytes hashed.
import { createHash, type Hash } from 'node:crypto';
import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { openBelow } from '../safe-fs/open-below.js';
import { writeAll } from '../util/write-all.js';

export interface CopyOpenRequest {
  /** the watched root the copy lies below */
  root: string;
  file: string;
  /** the part's declared size */
  size: number;
  /** where to write the bytes (a new file, created exclusively); absent: only hash (a duplicate) */
  dest?: string;
}

export interface CopyProgress {
  bytesDone: number;
  done: boolean;
  /** once done: sha256 of every byte read */
  sha256?: string;
  /** the file's size, times or inode changed while it was read (it is judged by what was read) */
  changed?: boolean;
}

interface Job {
  /** one buffer per copy, reused for every read: each chunk is hashed and written before the next read */
  buf: Buffer;
  fh: fsp.FileHandle;
  out: fsp.FileHandle | undefined;
  dest: string | undefined;
  hash: Hash;
  size: number;
  done: number;
  before: Stats;
}

const CHUNK = 1024 * 1024;

/** Open copy jobs of one worker, by id. */
export class CopyJobs {
  private readonly jobs = new Map<number, Job>();
  private next = 1;

  async open(req: CopyOpenRequest): Promise<number> {
    const name = path.basename(req.file);
    const dir = await openBelow(req.root, path.dirname(req.file), path.dirname(req.file));
    let fh: fsp.FileHandle;
    let before: Stats;
    try {
      ({ fh, stat: before } = await dir.openFile(name, req.file));
    } finally {
      await dir.close();
    }
    try {
      if (before.size !== req.size)
        throw new AirlockError('PART_CORRUPT', `${req.file} is ${before.size} bytes; the signed index lists ${req.size}`, { path: name });
      const out =
        req.dest === undefined
          ? undefined
          : await fsp.open(req.dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      const id = this.next++;
      this.jobs.set(id, { buf: Buffer.allocUnsafe(CHUNK), fh, out, dest: req.dest, hash: createHash('sha256'), size: req.size, done: 0, before });
      return id;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Read (and write) up to `maxBytes` more; the last step fsyncs the copy and gives the digest. */
  async step(id: number, maxBytes: number): Promise<CopyProgress> {
    const job = this.jobs.get(id);
    if (!job) throw new AirlockError('INTERNAL', `no copy job ${id}`);
    try {
      const stop = Math.min(job.size, job.done + maxBytes);
      while (job.done < stop) {
        const { bytesRead } = await job.fh.read(job.buf, 0, Math.min(CHUNK, stop - job.done), job.done);
        if (bytesRead === 0) throw new AirlockError('PART_CORRUPT', `the copy ended after ${job.done} of ${job.size} bytes while being read`);
        const chunk = job.buf.subarray(0, bytesRead);
        job.hash.update(chunk);
        if (job.out) await writeAll(job.out, chunk);
        job.done += bytesRead;
      }
      if (job.done < job.size) return { bytesDone: job.done, done: false };
      // One byte more would mean the file grew past its part: what was read is still what is judged.
      const after = await job.fh.stat();
      const changed =
        after.size !== job.before.size ||
        after.mtimeMs !== job.before.mtimeMs ||
        after.ctimeMs !== job.before.ctimeMs ||
        after.ino !== job.before.ino;
      await job.out?.sync();
      const sha256 = job.hash.digest('hex');
      await this.close(id, false);
      return { bytesDone: job.done, done: true, sha256, changed };
    } catch (err) {
      await this.close(id, true);
      throw err;
    }
  }

  /** Give a job up: its partial copy is removed. */
  async cancel(id: number): Promise<void> {
    await this.close(id, true);
  }

  private async close(id: number, discard: boolean): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    await job.fh.close().catch(() => undefined);
    await job.out?.close().catch(() => undefined);
    if (discard && job.dest) await fsp.rm(job.dest, { force: true });
  }
}
