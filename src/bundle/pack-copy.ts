// Read an opened file once: hash it, and copy it when there is somewhere to copy to (image archives).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import type { Progress } from '../util/progress.js';
import { writeAll } from '../util/write-all.js';

const CHUNK = 1024 * 1024;

export interface HashCopyOptions {
  /** Size seen when the tree was scanned; a file that grows or shrinks while read is refused. */
  expectedSize: number;
  /** Where to write the copy (created, must not exist); omit to hash only. */
  dest?: string;
  destMode?: number;
  /** Sees every chunk as it passes (e.g. the image archive inspector). */
  onChunk?: (chunk: Buffer) => void;
  progress?: Progress;
  /** Bundle-relative name for error messages. */
  label: string;
}

export interface HashCopyResult {
  sha256: string;
  size: number;
}

/** Read `input` (opened and checked by the caller, who closes it) from its start. */
export async function hashCopy(input: FileHandle, opts: HashCopyOptions): Promise<HashCopyResult> {
  let output: FileHandle | undefined;
  try {
    if (opts.dest !== undefined) output = await open(opts.dest, 'wx', opts.destMode ?? 0o644);
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      // A fresh buffer per read: onChunk consumers may keep slices of it.
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await input.read(buf, 0, CHUNK, size);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      size += bytesRead;
      if (size > opts.expectedSize) break;
      hash.update(chunk);
      opts.onChunk?.(chunk);
      if (output) await writeAll(output, chunk);
      opts.progress?.add(bytesRead);
    }
    if (size !== opts.expectedSize) {
      throw new AirlockError('SOURCE_INVALID', `${opts.label} changed size while being packed (expected ${opts.expectedSize} bytes)`, {
        path: opts.label,
      });
    }
    // Bundles often go straight onto removable media: make the bytes durable before the final rename.
    if (output) await output.sync();
    return { sha256: hash.digest('hex'), size };
  } finally {
    await output?.close();
  }
}
