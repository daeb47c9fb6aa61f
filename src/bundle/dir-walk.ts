// Walk a directory bundle's entries (payload/, images/ and anything unexpected) without following symlinks.
import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR } from '../format/layout.js';
import type { EntryKind } from './entry-checker.js';

export interface BundleEntry {
  /** bundle-relative, '/'-separated */
  path: string;
  kind: EntryKind;
  size: number;
  /** the entry's bytes (files only); read fully or not at all */
  body?: AsyncIterable<Buffer>;
  /** the file on disk holding the entry's bytes, so a worker can read it directly */
  file?: string;
  /** single-tar bundles: where in `file` the entry's data starts (the archive itself is `file`) */
  offset?: number;
}

const TOP_LEVEL_KNOWN = new Set([MANIFEST_NAME, SIGNATURES_DIR]);

export async function* walkDirBundle(root: string): AsyncGenerator<BundleEntry> {
  for (const name of (await fsp.readdir(root)).sort()) {
    if (TOP_LEVEL_KNOWN.has(name)) continue;
    yield* walk(root, name);
  }
}

async function* walk(root: string, rel: string): AsyncGenerator<BundleEntry> {
  const abs = path.join(root, rel);
  const st = await fsp.lstat(abs);
  const kind = kindOf(st);
  if (kind === 'directory') {
    yield { path: rel, kind, size: 0 };
    // Only payload/ and images/ are descended; any other top-level folder is reported once as unlisted.
    if (rel.split('/')[0] !== PAYLOAD_DIR && rel.split('/')[0] !== IMAGES_DIR) return;
    for (const name of (await fsp.readdir(abs)).sort()) yield* walk(root, `${rel}/${name}`);
    return;
  }
  if (kind !== 'file') {
    yield { path: rel, kind, size: st.size };
    return;
  }
  yield {
    path: rel,
    kind,
    size: st.size,
    file: abs,
    body: readNoFollow(abs),
  };
}

// O_NOFOLLOW: a file swapped for a symlink after the walk saw it is refused, not followed.
async function* readNoFollow(file: string): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    yield* fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false }) as AsyncIterable<Buffer>;
  } finally {
    await fh.close();
  }
}

function kindOf(st: Stats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'other';
}
