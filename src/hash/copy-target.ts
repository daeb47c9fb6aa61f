// The destination of a FileJob copy. Large files are written with O_DIRECT: the bytes go from our buffer
// to the disk without filling the page cache, so a multi-GB install neither evicts the cache nor leaves
// gigabytes of dirty pages for the final fsync (which then only commits metadata). Anything O_DIRECT
// cannot take (a file system without it, an odd block size, an unaligned short read) continues through
// an ordinary buffered descriptor on the same file; the caller's fsync covers both.
import { constants, promises as fsp } from 'node:fs';
import { writeAll } from '../util/write-all.js';

/** O_DIRECT wants buffer address, file offset and length aligned to the device's block size; 4 KiB covers them all. */
export const DIRECT_ALIGN = 4096;
/** Below this a file is written buffered: a handful of small synchronous writes would cost more than they save. */
export const DIRECT_MIN_BYTES = 4 * 1024 * 1024;

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const O_DIRECT = constants.O_DIRECT ?? 0;

/** A page-aligned buffer of `size` bytes: WebAssembly memory is mapped on page boundaries, ordinary Buffers are not. */
export function alignedBuffer(size: number): Buffer {
  const pages = Math.ceil(size / 65536);
  try {
    return Buffer.from(new Wasm.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
  } catch {
    // No room to map it (a tight `ulimit -v`: V8 reserves guard space around WebAssembly memory). An ordinary
    // buffer works as well; O_DIRECT refuses it (EINVAL) and the copy goes through the page cache.
    return Buffer.allocUnsafeSlow(size);
  }
}

// The one piece of the WebAssembly API used here (this project's TypeScript libs do not declare it).
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } })
  .WebAssembly;

export class CopyTarget {
  private direct: fsp.FileHandle | undefined;
  private buffered: fsp.FileHandle | undefined;
  /** bytes written past the end by padding the last direct write; cut off by close() */
  private size = 0;
  private padded = false;
  private fellBack = false;

  private constructor(private readonly file: string) {}

  /** Create `file` exclusively; `direct` asks for O_DIRECT (given only with an aligned buffer and a large file). */
  static async create(file: string, mode: number, direct: boolean): Promise<CopyTarget> {
    const t = new CopyTarget(file);
    if (direct && O_DIRECT !== 0) {
      try {
        t.direct = await fsp.open(file, CREATE | O_DIRECT, mode);
        return t;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        // The file system refused O_DIRECT after creating the file: start over, buffered.
        await fsp.rm(file, { force: true });
      }
    }
    t.buffered = await fsp.open(file, CREATE, mode);
    return t;
  }

  /** Whether writes still bypass the page cache (for reports and tests). */
  get writesDirect(): boolean {
    return this.direct !== undefined && !this.fellBack;
  }

  /** Write all of `chunk` at `position`. `chunk` must start at an aligned address when direct; bytes after
   *  it up to the next block boundary may be overwritten with zeros (the last, padded direct write). */
  async write(chunk: Buffer, position: number): Promise<void> {
    this.size = Math.max(this.size, position + chunk.length);
    const aligned = Math.ceil(chunk.length / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (this.direct && !this.fellBack && position % DIRECT_ALIGN === 0 && chunk.byteOffset + aligned <= chunk.buffer.byteLength) {
      // The last block is padded with zeros (O_DIRECT writes whole blocks); close() cuts the file to its size.
      if (aligned > chunk.length) this.padded = true;
      const block = Buffer.from(chunk.buffer, chunk.byteOffset, aligned).fill(0, chunk.length);
      try {
        await writeAll(this.direct, block, position);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      }
    }
    // From here on the page cache (not back and forth: one path per file keeps it simple to reason about).
    this.fellBack = true;
    await writeAll(await this.bufferedHandle(), chunk, position);
  }

  async sync(): Promise<void> {
    await this.trim();
    await (this.buffered ?? this.direct)?.sync();
  }

  async close(): Promise<void> {
    try {
      await this.trim();
    } finally {
      await this.direct?.close();
      await this.buffered?.close();
      this.direct = this.buffered = undefined;
    }
  }

  private async trim(): Promise<void> {
    if (!this.padded) return;
    this.padded = false;
    await (this.buffered ?? this.direct)!.truncate(this.size);
  }

  // Once direct writing cannot go on (unaligned position, refused write), the rest goes through the page cache.
  private async bufferedHandle(): Promise<fsp.FileHandle> {
    if (!this.buffered) this.buffered = await fsp.open(this.file, constants.O_WRONLY | constants.O_NOFOLLOW);
    return this.buffered;
  }
}
