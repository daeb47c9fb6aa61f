// Walk a directory bundle's entries (payload/, images/ and anything unexpected) through directory handles:
// every folder is opened by descriptor without following a link, and every file is opened through its
// folder's descriptor as the very file the walk saw (device and inode), so nothing outside the bundle is read.
import type { Stats } from 'node:fs';
import { AirlockError } from '../errors.js';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR } from '../format/layout.js';
import { MAX_PATH_SEGMENTS } from '../format/paths.js';
import { stampOf } from '../format/payload.js';
import type { DirHandle } from '../safe-fs/dir-handle.js';
import type { EntryKind } from './entry-checker.js';
import type { BundleEntry, EntryData } from './source.js';

const TOP_LEVEL_KNOWN = new Set([MANIFEST_NAME, SIGNATURES_DIR]);
/** A folder with more names than this is not a bundle's (and listing it would take unbounded memory). */
export const MAX_DIR_ENTRIES = 1_000_000;

export async function* walkDirBundle(root: DirHandle): AsyncGenerator<BundleEntry> {
  for (const name of await listCapped(root, '')) {
    if (TOP_LEVEL_KNOWN.has(name)) continue;
    yield* walk(root, name, name, 1);
  }
}

async function* walk(parent: DirHandle, name: string, rel: string, depth: number): AsyncGenerator<BundleEntry> {
  const st = await parent.lstat(name);
  if (!st) return; // gone since the listing: reported as missing if it was listed
  const kind = kindOf(st);
  if (kind !== 'directory') {
    yield kind === 'file'
      ? { path: rel, kind, size: st.size, stamp: stampOf(st), open: () => openEntry(parent, name, rel, st) }
      : { path: rel, kind, size: st.size };
    return;
  }
  yield { path: rel, kind, size: 0 };
  // Only payload/ and images/ are descended; any other top-level folder is reported once as unlisted.
  const top = rel.split('/', 1)[0];
  if ((top !== PAYLOAD_DIR && top !== IMAGES_DIR) || depth > MAX_PATH_SEGMENTS) return;
  let dir: DirHandle;
  try {
    dir = await parent.openDir(name, rel);
  } catch {
    // Swapped for something else since the lstat: say what it is now.
    const now = await parent.lstat(name);
    if (now) yield { path: rel, kind: kindOf(now), size: now.size };
    return;
  }
  try {
    for (const child of await listCapped(dir, rel)) yield* walk(dir, child, `${rel}/${child}`, depth + 1);
  } finally {
    await dir.close();
  }
}

async function openEntry(parent: DirHandle, name: string, rel: string, seen: Stats): Promise<EntryData> {
  const { fh } = await parent.openFile(name, rel, { dev: seen.dev, ino: seen.ino });
  return { fd: fh.fd, release: () => fh.close() };
}

async function listCapped(dir: DirHandle, rel: string): Promise<string[]> {
  const names = await dir.list(MAX_DIR_ENTRIES + 1);
  if (names.length > MAX_DIR_ENTRIES) {
    throw new AirlockError('UNLISTED_FILE', `${rel || 'the bundle'} holds more names than a bundle folder may (${MAX_DIR_ENTRIES})`, { path: rel });
  }
  return names.sort();
}

export function kindOf(st: Stats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'other';
}
