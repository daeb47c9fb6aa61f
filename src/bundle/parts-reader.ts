// Split bundles: read the part index, check every part is there at its size before reading a byte, then
// present the parts as one tar stream, hashing each part as it passes so a broken part is named.
import { createHash } from 'node:crypto';
import { AirlockError, FailureList, type Failure } from '../errors.js';
import { digestsEqual } from '../hash/digest.js';
import type { DirHandle } from '../safe-fs/dir-handle.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import { MAX_PARTS_INDEX_BYTES, parsePartsIndex, type PartsIndex } from './parts-index.js';

export type { PartsIndex } from './parts-index.js';

/** The index file `name` in `dir`: a small regular file, parsed strictly (parts-index.ts). */
export async function readPartsIndex(dir: DirHandle, name: string): Promise<PartsIndex> {
  const bytes = await readSmallRegular(dir.child(name), name, MAX_PARTS_INDEX_BYTES, 'PARTS_INVALID').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new AirlockError('PARTS_INVALID', `the part index ${name} is missing`, { path: name, cause: err });
    throw err;
  });
  return parsePartsIndex(bytes, name);
}

/** Every part present at its declared size, checked by lstat alone (nothing read yet). */
export async function partsPresenceFailures(dir: DirHandle, index: PartsIndex): Promise<FailureList> {
  const failures = new FailureList();
  for (const part of index.parts) {
    const st = await dir.lstat(part.name);
    if (!st) failures.push({ code: 'PART_MISSING', path: part.name, message: `part ${part.name} is missing` });
    else if (!st.isFile()) failures.push({ code: 'PART_CORRUPT', path: part.name, message: `part ${part.name} is not a regular file` });
    else if (st.size !== part.size)
      failures.push({ code: 'PART_CORRUPT', path: part.name, message: `part ${part.name} is ${st.size} bytes, index lists ${part.size}` });
  }
  return failures;
}

const CHUNK = 1024 * 1024;

/** The parts as one byte stream; a part whose bytes differ from its index entry ends the stream with PART_CORRUPT. */
export async function* concatenatedParts(dir: DirHandle, index: PartsIndex): AsyncGenerator<Buffer> {
  for (const part of index.parts) {
    const { fh } = await dir.openFile(part.name, part.name);
    try {
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        // A fresh buffer per read: the tar walk hands views of it on, and they must stay valid.
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, size);
        if (bytesRead === 0) break;
        size += bytesRead;
        if (size > part.size)
          throw new AirlockError('PART_CORRUPT', `part ${part.name} grew past its declared ${part.size} bytes`, { path: part.name });
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        yield chunk;
      }
      const digest = hash.digest('hex');
      if (size !== part.size || !digestsEqual(digest, part.sha256)) {
        throw new AirlockError('PART_CORRUPT', `part ${part.name} does not match the part index (sha256 ${digest}, index lists ${part.sha256})`, {
          path: part.name,
        });
      }
    } finally {
      await fh.close();
    }
  }
}

export function isPartFailure(f: Failure): boolean {
  return f.code === 'PART_MISSING' || f.code === 'PART_CORRUPT';
}
