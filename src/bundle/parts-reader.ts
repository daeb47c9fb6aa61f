// Split bundles: read the part index, check every part is there at its size before reading a byte,
// then present the parts as one tar stream, hashing each part as it passes so a broken part is named.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AirlockError, type Failure } from '../errors.js';
import { digestsEqual } from '../hash/digest.js';
import { schemaProblems } from '../util/schemas.js';

export interface PartsIndex {
  schema: 'airlock.parts/v1';
  tar: string;
  size: number;
  sha256: string;
  parts: Array<{ name: string; size: number; sha256: string }>;
}

const MAX_INDEX_BYTES = 1024 * 1024;

export async function readPartsIndex(indexFile: string): Promise<PartsIndex> {
  const st = await fsp.stat(indexFile).catch((err: unknown) => {
    throw new AirlockError('PARTS_INVALID', `cannot read part index ${indexFile}`, { path: indexFile, cause: err });
  });
  if (st.size > MAX_INDEX_BYTES) throw new AirlockError('PARTS_INVALID', `part index ${indexFile} is too large`, { path: indexFile });
  let doc: unknown;
  try {
    doc = JSON.parse(await fsp.readFile(indexFile, 'utf8'));
  } catch (err) {
    throw new AirlockError('PARTS_INVALID', `part index ${indexFile} is not JSON`, { path: indexFile, cause: err });
  }
  const problems = schemaProblems('parts', doc);
  if (problems.length > 0) {
    throw new AirlockError('PARTS_INVALID', `part index ${indexFile}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { path: indexFile });
  }
  const index = doc as PartsIndex;
  const failures: Failure[] = [];
  let total = 0;
  for (const part of index.parts) {
    if (part.name !== path.basename(part.name) || part.name.startsWith('.')) {
      failures.push({ code: 'PARTS_INVALID', path: part.name, message: `part name ${JSON.stringify(part.name)} is not a plain file name` });
    }
    total += part.size;
  }
  if (total !== index.size) failures.push({ code: 'PARTS_INVALID', path: indexFile, message: `parts add up to ${total} bytes, index says ${index.size}` });
  if (failures.length > 0) throw AirlockError.fromFailures(failures);
  return index;
}

/** Every part present at its declared size, checked by stat alone (nothing read yet). */
export async function partsPresenceFailures(dir: string, index: PartsIndex): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const part of index.parts) {
    const st = await fsp.lstat(path.join(dir, part.name)).catch(() => undefined);
    if (!st) failures.push({ code: 'PART_MISSING', path: part.name, message: `part ${part.name} is missing` });
    else if (!st.isFile()) failures.push({ code: 'PART_CORRUPT', path: part.name, message: `part ${part.name} is not a regular file` });
    else if (st.size !== part.size) failures.push({ code: 'PART_CORRUPT', path: part.name, message: `part ${part.name} is ${st.size} bytes, index lists ${part.size}` });
  }
  return failures;
}

/** Bytes present so far (for arrival progress), counting each part up to its declared size. */
export async function partsBytesPresent(dir: string, index: PartsIndex): Promise<number> {
  let n = 0;
  for (const part of index.parts) {
    const st = await fsp.stat(path.join(dir, part.name)).catch(() => undefined);
    if (st?.isFile()) n += Math.min(st.size, part.size);
  }
  return n;
}

/** The parts as one stream; a part whose bytes differ from its index entry ends the stream with PART_CORRUPT. */
export function concatenatedParts(dir: string, index: PartsIndex, highWaterMark = 1024 * 1024): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const part of index.parts) {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(path.join(dir, part.name), { highWaterMark }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > part.size) throw new AirlockError('PART_CORRUPT', `part ${part.name} grew past its declared ${part.size} bytes`, { path: part.name });
        hash.update(chunk);
        yield chunk;
      }
      const digest = hash.digest('hex');
      if (size !== part.size || !digestsEqual(digest, part.sha256)) {
        throw new AirlockError('PART_CORRUPT', `part ${part.name} does not match the part index (sha256 ${digest}, index lists ${part.sha256})`, { path: part.name });
      }
    }
  }
  return Readable.from(generate(), { objectMode: false });
}
