// `pack --against INVENTORY`: which content the receiving side already holds (a hint; the installer checks).
import { AirlockError } from '../errors.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import { parseJsonDocument } from '../util/json-document.js';

/** Refuse absurd inventories before JSON.parse (a million entries is about 100 MB). */
const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;

export interface ContentIndex {
  /** Could a file of this size be held? Lets pack skip the hash-first pass for most files. */
  mayHold(size: number): boolean;
  holds(sha256: string, size: number): boolean;
}

/** Content keyed by sha256, with the size the receiving store recorded for it. Pure. */
export function contentIndex(content: Array<{ sha256: string; size: number }>): ContentIndex {
  const bySha = new Map<string, number>();
  const sizes = new Set<number>();
  for (const c of content) {
    bySha.set(c.sha256, c.size);
    sizes.add(c.size);
  }
  return {
    mayHold: (size) => sizes.has(size),
    holds: (sha256, size) => bySha.get(sha256) === size,
  };
}

export async function loadInventory(file: string): Promise<ContentIndex> {
  let bytes: Buffer;
  try {
    // Never blocks on a FIFO, never follows a link, refused unless a regular file, size capped before reading.
    bytes = await readSmallRegular(file, `inventory ${file}`, MAX_INVENTORY_BYTES, 'CONFIG_INVALID');
  } catch (err) {
    const why = err instanceof AirlockError ? err.message : `cannot read inventory ${file}: ${(err as Error).message}`;
    throw new AirlockError('CONFIG_INVALID', why, { path: file, cause: err });
  }
  const doc = parseJsonDocument<{ content: Array<{ sha256: string; size: number }> }>(bytes, {
    schema: 'inventory',
    origin: `inventory ${file}`,
    code: 'CONFIG_INVALID',
  });
  return contentIndex(doc.content);
}
