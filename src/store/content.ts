// Verified content, stored once by SHA-256 (content/sha256/ab/<hex>, mode 0444) and never changed.
// Blobs arrive only by rename from staging after their bytes were verified, so none is ever partial.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mapLimited } from '../util/map-limited.js';
import { fsyncDir, makeDir } from './durable.js';
import { blobRelPath, CONTENT_DIR, SHA256_HEX, storePath } from './layout.js';

export const BLOB_MODE = 0o444;

export function blobPath(store: string, sha256: string): string {
  return storePath(store, blobRelPath(sha256));
}

/** True when the store holds a blob for `sha256` of the expected size (its bytes were verified when it arrived). */
export async function hasBlob(store: string, sha256: string, size: number): Promise<boolean> {
  const st = await fsp.lstat(blobPath(store, sha256)).catch(() => undefined);
  return st !== undefined && st.isFile() && st.size === size;
}

/**
 * Move a verified staged file into content. Returns an undo that removes it again (for an install that
 * fails before its commit); `undefined` when an identical blob was already there.
 */
export async function adoptBlob(store: string, staged: string, sha256: string, size: number): Promise<(() => Promise<void>) | undefined> {
  const dest = blobPath(store, sha256);
  if (await hasBlob(store, sha256, size)) {
    await fsp.rm(staged, { force: true });
    return undefined;
  }
  const dir = path.dirname(dest);
  const madeDir = await makeDir(dir);
  await fsp.rename(staged, dest);
  return async () => {
    await fsp.rm(dest, { force: true });
    if (madeDir) await fsp.rmdir(dir).catch(() => undefined);
  };
}

/** fsync every content folder a set of blobs landed in. */
export async function fsyncBlobDirs(store: string, hashes: Iterable<string>): Promise<void> {
  const dirs = new Set<string>();
  for (const h of hashes) dirs.add(path.dirname(blobPath(store, h)));
  // Several at once: the file system commits them together; one at a time waits out a journal commit each.
  await mapLimited([...dirs], 8, fsyncDir);
  if (dirs.size > 0) await fsyncDir(storePath(store, `${CONTENT_DIR}/sha256`));
}

export interface BlobEntry {
  sha256: string;
  size: number;
  file: string;
}

/** Every entry under content/sha256/, well-formed or not (`sha256` is the file name as found). */
export async function* listBlobs(store: string): AsyncGenerator<BlobEntry & { problem?: string }> {
  const root = storePath(store, `${CONTENT_DIR}/sha256`);
  const prefixes = await fsp.readdir(root).catch(() => [] as string[]);
  for (const prefix of prefixes.sort()) {
    const dir = path.join(root, prefix);
    const st = await fsp.lstat(dir);
    if (!st.isDirectory() || !/^[0-9a-f]{2}$/.test(prefix)) {
      yield { sha256: prefix, size: st.size, file: dir, problem: 'is not a content folder' };
      continue;
    }
    for (const name of (await fsp.readdir(dir)).sort()) {
      const file = path.join(dir, name);
      const bst = await fsp.lstat(file);
      let problem: string | undefined;
      if (!bst.isFile()) problem = 'is not a regular file';
      else if (!SHA256_HEX.test(name) || !name.startsWith(prefix)) problem = 'is not named by its sha256';
      yield { sha256: name, size: bst.size, file, ...(problem ? { problem } : {}) };
    }
  }
}
