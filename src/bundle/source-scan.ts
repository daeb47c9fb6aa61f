// Walk a model tree and describe what pack will carry; refuse anything a bundle cannot hold faithfully.
// The walk holds each folder by descriptor (safe-fs/dir-handle.ts): a sub-folder swapped for a symlink while
// it runs is refused, never followed, so nothing outside SOURCE is listed (issue 11: pack raced into signing
// a file from outside SOURCE). Files are later opened through the same kind of handles (source-tree.ts).
import { promises as fsp, type Stats } from 'node:fs';
import { AirlockError, type Failure } from '../errors.js';
import { manifestProblems, type Manifest, type ManifestEntry } from '../format/manifest.js';
import { pathProblem } from '../format/paths.js';
import { DirHandle } from '../safe-fs/dir-handle.js';
import type { FileIdentity } from '../safe-fs/open-regular.js';
import { walkedLinkProblem, walkedTree } from './source-links.js';
import type { SourceEntry } from './source-entry.js';
import { changedWhilePacked, SourceTree } from './source-tree.js';

export type { SourceEntry, SourceFile, SourceSymlink } from './source-entry.js';

/** Byte order of the UTF-8 path, so manifests sort the same on every platform and locale. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Walk {
  entries: SourceEntry[];
  dirs: Map<string, FileIdentity>;
  failures: Failure[];
}

/**
 * Every regular file and symlink under `root`, sorted by path, held as a SourceTree (close it). Throws
 * SOURCE_INVALID listing every entry that cannot go into a bundle: special files, unsafe names, symlinks that
 * are absolute, leave the tree or do not end at a regular file in it, and entries that change during the walk.
 * `root` itself may be a symlink (the operator's own path); nothing below it is followed.
 */
export async function scanSource(root: string): Promise<SourceTree> {
  const handle = await DirHandle.open(root, { shownAs: '' });
  try {
    const walk: Walk = { entries: [], dirs: new Map(), failures: [] };
    await walkDir(handle, '', walk);
    walk.failures.push(...symlinkFailures(walk.entries, walk.failures));
    if (walk.failures.length > 0) throw AirlockError.fromFailures(walk.failures);
    return new SourceTree(
      handle,
      walk.entries.sort((a, b) => compareBytes(a.path, b.path)),
      walk.dirs,
    );
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function walkDir(dir: DirHandle, rel: string, walk: Walk): Promise<void> {
  // Names come back as bytes so a non-UTF-8 name is reported instead of silently mangled.
  const names = await fsp.readdir(dir.self(), { encoding: 'buffer' });
  for (const raw of names) {
    const name = raw.toString('utf8');
    const relPath = rel === '' ? name : `${rel}/${name}`;
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      walk.failures.push(invalid(relPath, 'has a name that is not valid UTF-8'));
      continue;
    }
    const problem = pathProblem(relPath);
    if (problem) {
      walk.failures.push(invalid(relPath, problem));
      continue;
    }
    try {
      await walkEntry(dir, name, relPath, walk);
    } catch (err) {
      const refused = changedWhilePacked(err, relPath);
      if (!(refused instanceof AirlockError) || refused.code !== 'SOURCE_INVALID') throw refused;
      walk.failures.push(...refused.failures);
    }
  }
}

async function walkEntry(dir: DirHandle, name: string, relPath: string, walk: Walk): Promise<void> {
  const st = await dir.lstat(name);
  if (!st) throw Object.assign(new Error(`${relPath} vanished`), { code: 'ENOENT' });
  if (st.isDirectory()) {
    const sub = await dir.openDir(name, relPath);
    try {
      const opened = await sub.stat();
      walk.dirs.set(relPath, { dev: opened.dev, ino: opened.ino });
      await walkDir(sub, relPath, walk);
    } finally {
      await sub.close();
    }
  } else if (st.isFile()) {
    walk.entries.push({ type: 'file', path: relPath, size: st.size, executable: (st.mode & 0o111) !== 0, dev: st.dev, ino: st.ino });
  } else if (st.isSymbolicLink()) {
    walk.entries.push({ type: 'symlink', path: relPath, target: await fsp.readlink(dir.child(name)) });
  } else {
    walk.failures.push(invalid(relPath, `is a ${specialKind(st)}; only regular files, directories and in-tree symlinks can be packed`));
  }
}

/**
 * Symlinks resolved against the walked tree (never by resolving paths on disk again), then the manifest's own
 * rules, so pack never writes a manifest readers would reject nor a link that dangles once installed.
 */
function symlinkFailures(entries: SourceEntry[], known: Failure[]): Failure[] {
  const tree = walkedTree(entries);
  const failures: Failure[] = [];
  for (const e of entries) {
    if (e.type !== 'symlink') continue;
    const problem = walkedLinkProblem(tree, e.path);
    if (problem) failures.push(invalid(e.path, `-> ${e.target} ${problem}`));
  }
  const files: ManifestEntry[] = entries.map((e) =>
    e.type === 'symlink' ? { path: e.path, type: 'symlink', target: e.target } : { path: e.path, size: e.size, sha256: '' },
  );
  const probe: Manifest = {
    schema: 'airlock.bundle/v1',
    id: 'scan',
    name: 'scan',
    kind: 'model-dir',
    channel: 'scan',
    sequence: 0,
    created: '',
    profiles: [],
    images: [],
    files,
  };
  const reported = new Set([...known, ...failures].map((f) => f.path));
  for (const f of manifestProblems(probe).items) {
    if (f.code === 'BAD_SYMLINK' && !reported.has(f.path))
      failures.push({ code: 'SOURCE_INVALID', message: f.message, ...(f.path === undefined ? {} : { path: f.path }) });
  }
  return failures;
}

function invalid(relPath: string, why: string): Failure {
  return { code: 'SOURCE_INVALID', path: relPath, message: `${relPath} ${why}` };
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return 'special file';
}
