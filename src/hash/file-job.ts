// Read a file once: hash it, optionally copy it, stop at the first byte past the declared size.
// Runs inside hash workers (off the event loop) and, for small jobs, inline.
import { createHash } from 'node:crypto';
import { fstat as fsFstat, promises as fsp, read as fsRead, type Stats } from 'node:fs';
import { UNTRUSTED_READ_FLAGS } from '../safe-fs/open-regular.js';
import { alignedBuffer, CopyTarget, DIRECT_MIN_BYTES } from './copy-target.js';

export interface FileJob {
  /**
   * the file to read (also its name in errors); opened without blocking or following a link, and refused unless
   * regular, so a file swapped for a symlink or FIFO fails instead of being followed or hanging the worker
   */
  file: string;
  /**
   * a descriptor the caller already opened and checked (see safe-fs/open-regular.ts): read instead of `file`,
   * never closed here. Worker threads share the process's descriptors.
   */
  fd?: number;
  /** stop and report overflow at the first byte past this */
  limit: number;
  /** read the `limit` bytes starting here instead of the whole file (a tar entry's data inside its archive) */
  offset?: number;
  /** when set, write the bytes to this new file (exclusive create, never following a symlink) */
  copyTo?: string;
  copyMode?: number;
  /** fsync the copy before reporting success */
  fsync?: boolean;
}

export interface FileJobResult {
  size: number;
  sha256: string;
  overflow: boolean;
}

const CHUNK = 1024 * 1024;

// Aligned buffer pairs kept for reuse by this thread (WebAssembly memories are costly to map for every file).
const spareBuffers: Buffer[][] = [];

export async function runFileJob(job: FileJob, onBytes?: (n: number) => void): Promise<FileJobResult> {
  const src: ReadSource = job.fd !== undefined ? borrowed(job.fd) : await fsp.open(job.file, UNTRUSTED_READ_FLAGS);
  let dst: CopyTarget | undefined;
  let next: Promise<Buffer> | undefined;
  // Large copies: two aligned buffers, so the next read runs while this chunk is hashed and written (O_DIRECT).
  // Small files get one small buffer (one byte over the limit still shows an overflow): hundreds of tokenizer
  // and config files would otherwise leave hundreds of 1 MiB buffers for the GC.
  const large = job.limit >= DIRECT_MIN_BYTES;
  const bufs = large ? (spareBuffers.pop() ?? [alignedBuffer(CHUNK), alignedBuffer(CHUNK)]) : [Buffer.allocUnsafe(Math.min(CHUNK, job.limit + 1))];
  try {
    const st = await src.stat();
    if (!st.isFile()) {
      throw Object.assign(new Error(`${job.file} is not a regular file`), { code: 'EFTYPE', path: job.file, syscall: 'open' });
    }
    if (job.copyTo !== undefined) dst = await CopyTarget.create(job.copyTo, job.copyMode ?? 0o600, large);
    const hash = createHash('sha256');
    const base = job.offset ?? 0;
    const region = job.offset !== undefined;
    let requested = 0;
    // A region ends at its length: what follows in the file is the next entry, not an overflow.
    const readNext = async (buf: Buffer): Promise<Buffer> => {
      const want = region ? Math.min(buf.length, job.limit - requested) : buf.length;
      if (want === 0) return buf.subarray(0, 0);
      const { bytesRead } = await src.read(buf, 0, want, base + requested);
      requested += bytesRead;
      return buf.subarray(0, bytesRead);
    };
    let size = 0;
    let turn = 0;
    next = readNext(bufs[0]!);
    for (;;) {
      const chunk = await next;
      if (chunk.length === 0) break;
      if (size + chunk.length > job.limit) return { size: size + chunk.length, sha256: '', overflow: true };
      // Start the write first: the thread pool copies the chunk out while this thread hashes it.
      const written = dst?.write(chunk, size);
      if (bufs.length > 1) next = readNext(bufs[++turn % 2]!);
      hash.update(chunk);
      size += chunk.length;
      await written;
      if (bufs.length === 1) next = readNext(bufs[0]!);
      onBytes?.(chunk.length);
    }
    if (dst && job.fsync) await dst.sync();
    return { size, sha256: hash.digest('hex'), overflow: false };
  } finally {
    // A read still in flight (overflow or a failed write ended the loop) must land before its file closes.
    await next?.catch(() => undefined);
    await src.close();
    await dst?.close();
    if (large) spareBuffers.push(bufs);
  }
}

interface ReadSource {
  read(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number }>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

/** The few operations a job needs, over a descriptor it does not own. */
function borrowed(fd: number): ReadSource {
  return {
    read: (buf, off, len, pos) =>
      new Promise((resolve, reject) => fsRead(fd, buf, off, len, pos, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })))),
    stat: () => new Promise((resolve, reject) => fsFstat(fd, (err, st) => (err ? reject(err) : resolve(st)))),
    close: async () => undefined,
  };
}
