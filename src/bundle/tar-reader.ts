// Walk a bundle's tar, one header at a time, with the strict decoding of tar-header.ts, over either a file read
// at offsets (a single tar: workers then read each body at its offset) or a byte stream (split parts). Both end
// the same way: two zero blocks, then nothing but zeros to the end of the archive, as GNU tar reads it.
import { AirlockError } from '../errors.js';
import { pathProblem } from '../format/paths.js';
import type { EntryKind } from './entry-checker.js';
import { BLOCK, decodeHeader, parsePax } from './tar-header.js';

export interface TarHeaderEntry {
  path: string;
  kind: EntryKind;
  size: number;
  /** byte offset of the entry's data in the archive */
  offset: number;
}

/** Where the bytes come from. `position` is how far the archive has been consumed. */
export interface TarCursor {
  readonly position: number;
  /** the next `n` bytes, or undefined when the archive ends first */
  read(n: number): Promise<Buffer | undefined>;
  /** move on to `target` (never backwards); false when the archive ends first */
  skipTo(target: number): Promise<boolean>;
  /** whether every byte from here to the end is zero */
  zeroToEnd(): Promise<boolean>;
}

export function truncated(origin: string): AirlockError {
  return new AirlockError('TAR_INVALID', `${origin} is truncated: the tar ends without its end-of-archive marker`, { path: origin });
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** Each entry's header, in order. Between yields the caller may consume the entry's data from the cursor. */
export async function* tarHeaders(cursor: TarCursor, origin: string): AsyncGenerator<TarHeaderEntry> {
  let pax: { path?: string; size?: number } | undefined;
  for (;;) {
    const at = cursor.position;
    const block = await cursor.read(BLOCK);
    if (!block) throw truncated(origin);
    const h = decodeHeader(block, origin, at);
    if (h.kind === 'zero') {
      if (pax) throw new AirlockError('TAR_INVALID', `${origin}: a pax header is followed by the end of the archive`, { path: origin });
      const second = await cursor.read(BLOCK);
      if (!second) throw truncated(origin);
      if (!second.every((b) => b === 0)) {
        throw new AirlockError('TAR_INVALID', `${origin} has a lone zero block at byte ${at}: GNU tar stops reading there`, { path: origin });
      }
      if (!(await cursor.zeroToEnd())) throw new AirlockError('TAR_INVALID', `${origin} has data after its end-of-archive marker`, { path: origin });
      return;
    }
    if (h.kind === 'pax') {
      if (pax) throw new AirlockError('TAR_INVALID', `${origin}: two pax headers in a row at byte ${at}`, { path: origin });
      const body = await cursor.read(h.size);
      if (!body || !(await cursor.skipTo(at + BLOCK + padded(h.size)))) throw truncated(origin);
      pax = parsePax(body, origin, at);
      continue;
    }
    const path = pax?.path ?? h.path;
    const size = pax?.size ?? h.size;
    pax = undefined;
    // A name a bundle could never list (absolute, '..', empty segments) is not interpreted any further.
    if (pathProblem(path) !== undefined && h.entryKind === 'file') {
      throw new AirlockError('UNLISTED_FILE', `${origin}: entry ${JSON.stringify(path.slice(0, 256))} is not a path a bundle can hold`, {
        path: path.slice(0, 256),
      });
    }
    const offset = at + BLOCK;
    yield { path, kind: h.entryKind, size, offset };
    if (!(await cursor.skipTo(offset + padded(size)))) throw truncated(origin);
  }
}

/** A cursor over a file read at offsets (pread), for a single tar. */
export function fileCursor(read: (buf: Buffer, pos: number) => Promise<number>, fileSize: number): TarCursor {
  let position = 0;
  return {
    get position() {
      return position;
    },
    async read(n) {
      if (position + n > fileSize) return undefined;
      const buf = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = await read(buf.subarray(got), position + got);
        if (r === 0) return undefined;
        got += r;
      }
      position += n;
      return buf;
    },
    async skipTo(target) {
      if (target > fileSize) return false;
      position = Math.max(position, target);
      return true;
    },
    async zeroToEnd() {
      const buf = Buffer.alloc(64 * 1024);
      while (position < fileSize) {
        const r = await read(buf.subarray(0, Math.min(buf.length, fileSize - position)), position);
        if (r === 0) return true;
        if (!buf.subarray(0, r).every((b) => b === 0)) return false;
        position += r;
      }
      return true;
    },
  };
}

/** A cursor over a byte stream (split parts), with a way to stream an entry's data out of it. */
export class StreamCursor implements TarCursor {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  get position(): number {
    return this.pos;
  }

  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.ended) return false;
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.chunk = r.value;
    }
    return true;
  }

  private take(max: number): Buffer {
    const n = Math.min(max, this.chunk.length);
    const out = this.chunk.subarray(0, n);
    this.chunk = this.chunk.subarray(n);
    this.pos += n;
    return out;
  }

  async read(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) return undefined;
      const piece = this.take(n - got);
      parts.push(piece);
      got += piece.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** The next `n` bytes as they arrive (views into the source's chunks, valid until the next read). */
  async *data(n: number, origin: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw truncated(origin);
      const piece = this.take(left);
      left -= piece.length;
      yield piece;
    }
  }

  async skipTo(target: number): Promise<boolean> {
    while (this.pos < target) {
      if (!(await this.fill())) return false;
      this.take(target - this.pos);
    }
    return true;
  }

  async zeroToEnd(): Promise<boolean> {
    while (await this.fill()) {
      if (!this.take(this.chunk.length).every((b) => b === 0)) return false;
    }
    return true;
  }

  /** Stop reading the source (a walk that ends early). */
  async close(): Promise<void> {
    await this.source.return?.();
  }
}
