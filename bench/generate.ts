// Write the synthetic model tree fast: one random 64 MiB block, XORed with a per-chunk word so every
// chunk of every file differs (no two files share content; nothing is zeros or compressible).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { PlannedFile } from './source-plan.js';

const BLOCK = 64 * 1024 * 1024;

export async function writeSource(root: string, plan: PlannedFile[]): Promise<void> {
  const block = randomBytes(BLOCK);
  const scratch = Buffer.allocUnsafe(BLOCK);
  let counter = 1;
  for (const f of plan) {
    const file = path.join(root, f.path);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const fh = await fsp.open(file, 'wx');
    try {
      for (let done = 0; done < f.size;) {
        const n = Math.min(BLOCK, f.size - done);
        varyBlock(block, scratch, n, counter++);
        await writeFully(fh, scratch.subarray(0, n));
        done += n;
      }
    } finally {
      await fh.close();
    }
  }
}

/** scratch[0..n) = block[0..n) XOR a word derived from `counter` (an odd multiplier spreads the bits). */
function varyBlock(block: Buffer, scratch: Buffer, n: number, counter: number): void {
  const word = (Math.imul(counter, 0x9e3779b1) | 1) >>> 0;
  const words = Math.floor(n / 4);
  const src = new Uint32Array(block.buffer, block.byteOffset, words);
  const dst = new Uint32Array(scratch.buffer, scratch.byteOffset, words);
  for (let i = 0; i < words; i++) dst[i] = (src[i] ?? 0) ^ word;
  for (let i = words * 4; i < n; i++) scratch[i] = (block[i] ?? 0) ^ (word & 0xff);
}

async function writeFully(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}
