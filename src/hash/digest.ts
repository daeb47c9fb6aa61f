// Small hashing primitives shared by every reader and writer.
import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Constant-time comparison of two lowercase hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface BodyTally {
  size: number;
  sha256: string;
  /** true when the body went past `limit`: reading stopped at the first byte over */
  overflow: boolean;
}

/**
 * Hash a body chunk by chunk, counting bytes; stop at the first byte past `limit`.
 * `sink` (optional) receives each chunk that is within the limit, e.g. a staging file.
 */
export async function tallyBody(
  body: AsyncIterable<Buffer | Uint8Array>,
  limit: number,
  sink?: (chunk: Buffer) => Promise<void> | void,
  onBytes?: (n: number) => void,
): Promise<BodyTally> {
  const hash = createHash('sha256');
  let size = 0;
  // One write in flight while the next chunk arrives and is hashed (double buffering); writes stay in order,
  // each starting once the one before it has finished. Every chunk is a buffer of its own (streams never reuse them).
  let writing: Promise<void> | void = undefined;
  try {
    for await (const raw of body) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (size + chunk.length > limit) {
        return { size: size + chunk.length, sha256: '', overflow: true };
      }
      size += chunk.length;
      if (writing) await writing;
      // Start the write first: the thread pool copies the chunk out while this thread hashes it.
      writing = sink?.(chunk);
      hash.update(chunk);
      onBytes?.(chunk.length);
    }
    if (writing) await writing;
    writing = undefined;
  } finally {
    // However the body ends, no write is left running behind the caller's back.
    if (writing) await Promise.resolve(writing).catch(() => undefined);
  }
  return { size, sha256: hash.digest('hex'), overflow: false };
}
