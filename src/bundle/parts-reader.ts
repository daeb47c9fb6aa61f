// Split bundles: read the part index (its exact bytes: they are what its signatures sign), find every part at its
// size before reading a byte (beside the index, or in further folders: parts carried on several sticks), then
// present the parts as one tar stream, hashing each part as it passes so a broken part is named.
import { createHash } from 'node:crypto';
import { AirlockError, FailureList, type Failure } from '../errors.js';
import { digestsEqual } from '../hash/digest.js';
import type { DirHandle } from '../safe-fs/dir-handle.js';
import { describeType, readSmallRegular } from '../safe-fs/open-regular.js';
import { MAX_PARTS_INDEX_BYTES, parsePartsIndex, type PartEntry, type PartsIndex } from './parts-index.js';

export type { PartsIndex } from './parts-index.js';

/** The index file `name` in `dir`: a small regular file, parsed strictly (parts-index.ts), with its exact bytes. */
export async function readPartsIndexFile(dir: DirHandle, name: string): Promise<{ index: PartsIndex; bytes: Buffer }> {
  const bytes = await readSmallRegular(dir.child(name), name, MAX_PARTS_INDEX_BYTES, 'PARTS_INVALID').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new AirlockError('PARTS_INVALID', `the part index ${name} is missing`, { path: name, cause: err });
    throw err;
  });
  return { index: parsePartsIndex(bytes, name), bytes };
}

/** The index file `name` in `dir`, parsed strictly. */
export async function readPartsIndex(dir: DirHandle, name: string): Promise<PartsIndex> {
  return (await readPartsIndexFile(dir, name)).index;
}

/** Where each part was found: `dirs[i]` holds part i. */
export interface PartsPlacement {
  dirs: DirHandle[];
  failures: FailureList;
}

/**
 * Each part in the first of `folders` that holds it as a regular file at its declared size, checked by lstat
 * alone (nothing read yet). A part found nowhere at its size is PART_MISSING, or PART_CORRUPT naming a wrong copy.
 */
export async function placeParts(folders: DirHandle[], index: PartsIndex): Promise<PartsPlacement> {
  const failures = new FailureList();
  const dirs: DirHandle[] = [];
  for (const part of index.parts) {
    let found: DirHandle | undefined;
    let wrong: Failure | undefined;
    for (const dir of folders) {
      const st = await dir.lstat(part.name);
      if (!st) continue;
      if (st.isFile() && st.size === part.size) {
        found = dir;
        break;
      }
      const shown = dir.label(part.name);
      wrong ??= {
        code: 'PART_CORRUPT',
        path: part.name,
        message: st.isFile()
          ? `part ${shown} is ${st.size} bytes, index lists ${part.size}`
          : `part ${shown} is ${describeType(st)}, not a regular file`,
      };
    }
    dirs.push(found ?? folders[0]!);
    if (!found) failures.push(wrong ?? missing(part, folders));
  }
  return { dirs, failures };
}

function missing(part: PartEntry, folders: DirHandle[]): Failure {
  const where = folders.length > 1 ? ` (looked in ${folders.map((f) => f.shownAs || '.').join(', ')})` : '';
  return { code: 'PART_MISSING', path: part.name, message: `part ${part.name} is missing${where}` };
}

/** Every part present at its declared size in `dir`, checked by lstat alone (nothing read yet). */
export async function partsPresenceFailures(dir: DirHandle, index: PartsIndex): Promise<FailureList> {
  return (await placeParts([dir], index)).failures;
}

const CHUNK = 1024 * 1024;

/** The parts as one byte stream (part i read from `dirs[i]`); a part whose bytes differ from its index entry ends the stream with PART_CORRUPT. */
export async function* concatenatedParts(dirs: DirHandle | DirHandle[], index: PartsIndex): AsyncGenerator<Buffer> {
  for (const [i, part] of index.parts.entries()) yield* partBytes(Array.isArray(dirs) ? dirs[i]! : dirs, part);
}

async function* partBytes(dir: DirHandle, part: PartEntry): AsyncGenerator<Buffer> {
  const shown = dir.label(part.name);
  const { fh } = await dir.openFile(part.name, shown);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      // A fresh buffer per read: the tar walk hands views of it on, and they must stay valid.
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > part.size) throw new AirlockError('PART_CORRUPT', `part ${shown} grew past its declared ${part.size} bytes`, { path: part.name });
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      yield chunk;
    }
    const digest = hash.digest('hex');
    if (size !== part.size || !digestsEqual(digest, part.sha256)) {
      throw new AirlockError('PART_CORRUPT', `part ${shown} does not match the part index (sha256 ${digest}, index lists ${part.sha256})`, {
        path: part.name,
      });
    }
  } finally {
    await fh.close();
  }
}

/**
 * Why a tar read over the parts failed between stream bytes `from` and `to`: a part is only judged at its end, so
 * a broken header inside a part that does not match the index is that part's fault (PART_CORRUPT naming it and
 * its folder), not the tar's. The parts there are read to their end (each at most its indexed size); undefined
 * when they match.
 */
export async function corruptPartBetween(dirs: DirHandle[], index: PartsIndex, from: number, to: number): Promise<AirlockError | undefined> {
  let start = 0;
  for (const [i, part] of index.parts.entries()) {
    const end = start + part.size;
    if (start > to) break;
    if (end > from) {
      try {
        for await (const _ of partBytes(dirs[i]!, part));
      } catch (err) {
        if (err instanceof AirlockError && err.code === 'PART_CORRUPT') return err;
        throw err;
      }
    }
    start = end;
  }
  return undefined;
}

export function isPartFailure(f: Failure): boolean {
  return f.code === 'PART_MISSING' || f.code === 'PART_CORRUPT';
}
