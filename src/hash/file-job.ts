// Read a file once: hash it, optionally copy it, stop at the first byte past the declared size.
// Runs inside hash workers (off the event loop) and, for small jobs, inline.
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';

export interface FileJob {
  /** absolute path to read; opened with O_NOFOLLOW so a swapped-in symlink fails instead of being followed */
  file: string;
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

export async function runFileJob(job: FileJob, onBytes?: (n: number) => void): Promise<FileJobResult> {
  const src = await fsp.open(job.file, constants.O_RDONLY | constants.O_NOFOLLOW);
  let dst: fsp.FileHandle | undefined;
  try {
    const st = await src.stat();
    if (!st.isFile()) {
      throw Object.assign(new Error(`${job.file} is not a regular file`), { code: 'EFTYPE', path: job.file, syscall: 'open' });
    }
    if (job.copyTo !== undefined) {
      dst = await fsp.open(job.copyTo, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, job.copyMode ?? 0o600);
    }
    const hash = createHash('sha256');
    // Small files get a small buffer (one byte over the limit still shows an overflow): hundreds of
    // tokenizer and config files would otherwise leave hundreds of 1 MiB buffers for the GC.
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, job.limit + 1));
    let size = 0;
    const region = job.offset !== undefined;
    for (;;) {
      // A region ends at its length: what follows in the file is the next entry, not an overflow.
      const want = region ? Math.min(buf.length, job.limit - size) : buf.length;
      if (want === 0) break;
      const { bytesRead } = await src.read(buf, 0, want, region ? job.offset! + size : null);
      if (bytesRead === 0) break;
      if (size + bytesRead > job.limit) return { size: size + bytesRead, sha256: '', overflow: true };
      const chunk = buf.subarray(0, bytesRead);
      // Start the write first: the thread pool copies the chunk out while this thread hashes it.
      const written = dst ? writeAt(dst, chunk, size) : undefined;
      hash.update(chunk);
      size += bytesRead;
      await written;
      onBytes?.(bytesRead);
    }
    if (dst && job.fsync) await dst.sync();
    return { size, sha256: hash.digest('hex'), overflow: false };
  } finally {
    await src.close();
    await dst?.close();
  }
}

/** Write all of `chunk` at `position`: a write may take fewer bytes than asked (signal, nearly full disk). */
async function writeAt(fh: fsp.FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let off = 0; off < chunk.length; ) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, position + off);
    off += bytesWritten;
  }
}
