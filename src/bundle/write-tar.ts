// Write a bundle as one deterministic tar stream: fixed order, regular files only, uid/gid 0, one mtime.
import { unlink } from 'node:fs/promises';
import { Header, Pax } from 'tar';
import { AirlockError } from '../errors.js';
import { openRegular } from '../safe-fs/open-regular.js';
import type { Progress } from '../util/progress.js';

const BLOCK = 512;
const CHUNK = 1024 * 1024;

/** Where tar bytes go: one file, or a run of fixed-size parts (write-parts.ts). */
export interface ByteSink {
  /** Must not keep `chunk` after the promise resolves: the caller reuses the buffer. */
  write(chunk: Buffer): Promise<void>;
}

export interface TarEntry {
  /** Path inside the tar, e.g. `payload/config.json`. */
  path: string;
  size: number;
  mode: 0o644 | 0o755;
  /** In-memory bytes (manifest, signatures) or a file to stream. */
  source: Buffer | { file: string; removeAfter?: boolean };
}

export interface WriteTarOptions {
  mtime: Date;
  progress?: Progress;
}

/** The header block(s) for one regular file; a pax header first when the path or size needs one. */
export function tarHeader(entry: Pick<TarEntry, 'path' | 'size' | 'mode'>, mtime: Date): Buffer {
  const header = new Header({ path: entry.path, mode: entry.mode, uid: 0, gid: 0, size: entry.size, mtime, type: 'File', uname: '', gname: '' });
  const needPax = header.encode();
  const block = header.block;
  if (!block) throw new AirlockError('INTERNAL', `could not encode a tar header for ${entry.path}`);
  if (!needPax) return block;
  return Buffer.concat([new Pax({ path: entry.path, size: entry.size, mtime }).encode(), block]);
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Two zero blocks end a tar archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

export async function writeTar(entries: TarEntry[], sink: ByteSink, opts: WriteTarOptions): Promise<void> {
  for (const entry of entries) {
    await sink.write(tarHeader(entry, opts.mtime));
    if (Buffer.isBuffer(entry.source)) {
      if (entry.source.length !== entry.size)
        throw new AirlockError('INTERNAL', `tar entry ${entry.path} has ${entry.source.length} bytes, not ${entry.size}`);
      await sink.write(entry.source);
      opts.progress?.add(entry.size);
    } else {
      await streamFile(entry.source.file, entry, sink, opts.progress);
      if (entry.source.removeAfter) await unlink(entry.source.file);
    }
    const pad = tarPadding(entry.size);
    if (pad.length > 0) await sink.write(pad);
  }
  await sink.write(TAR_END);
}

async function streamFile(file: string, entry: TarEntry, sink: ByteSink, progress: Progress | undefined): Promise<void> {
  // Staged by pack itself, but inside DEST: opened like any other file, so nothing swapped in there is followed.
  const { fh: input } = await openRegular(file, entry.path);
  try {
    let done = 0;
    // One buffer per file: the sink is done with a chunk when write() resolves, and a fresh megabyte
    // per read left tens of MB of garbage waiting for V8's next collection (peak RSS over 150 MB).
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, Math.min(CHUNK, entry.size - done + 1), null);
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done > entry.size) break;
      await sink.write(buf.subarray(0, bytesRead));
      progress?.add(bytesRead);
    }
    // The header already promised `size` bytes; anything else would corrupt every later entry.
    if (done !== entry.size) throw new AirlockError('IO_ERROR', `${file} changed size while being written into the tar`, { path: entry.path });
  } finally {
    await input.close();
  }
}
