// Walk a model tree and describe what pack will carry; refuse anything a bundle cannot hold faithfully.
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError, type Failure } from '../errors.js';
import { manifestProblems, type Manifest, type ManifestEntry } from '../format/manifest.js';
import { pathProblem } from '../format/paths.js';

export interface SourceFile {
  type: 'file';
  /** Tree-relative, /-separated. */
  path: string;
  absolute: string;
  size: number;
  executable: boolean;
}

export interface SourceSymlink {
  type: 'symlink';
  path: string;
  target: string;
}

export type SourceEntry = SourceFile | SourceSymlink;

/** Byte order of the UTF-8 path, so manifests sort the same on every platform and locale. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Every regular file and symlink under `root`, sorted by path. Throws SOURCE_INVALID listing every
 * entry that cannot go into a bundle: special files, unsafe names, and symlinks that are absolute,
 * leave the tree, or do not end at a regular file in it (the manifest's own symlink rules).
 */
export async function scanSource(root: string): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  const failures: Failure[] = [];
  await walk(root, '', entries, failures);
  failures.push(...symlinkFailures(entries));
  if (failures.length > 0) throw AirlockError.fromFailures(failures);
  return entries.sort((a, b) => compareBytes(a.path, b.path));
}

async function walk(root: string, rel: string, out: SourceEntry[], failures: Failure[]): Promise<void> {
  const dir = rel === '' ? root : path.join(root, rel);
  // Names come back as bytes so a non-UTF-8 name is reported instead of silently mangled.
  const names = await readdir(dir, { encoding: 'buffer' });
  for (const raw of names) {
    const name = raw.toString('utf8');
    const relPath = rel === '' ? name : `${rel}/${name}`;
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      failures.push(invalid(relPath, 'has a name that is not valid UTF-8'));
      continue;
    }
    const problem = pathProblem(relPath);
    if (problem) {
      failures.push(invalid(relPath, problem));
      continue;
    }
    const absolute = path.join(root, relPath);
    const st = await lstat(absolute);
    if (st.isDirectory()) await walk(root, relPath, out, failures);
    else if (st.isFile()) out.push({ type: 'file', path: relPath, absolute, size: st.size, executable: (st.mode & 0o111) !== 0 });
    else if (st.isSymbolicLink()) out.push({ type: 'symlink', path: relPath, target: await readlink(absolute) });
    else failures.push(invalid(relPath, `is a ${specialKind(st)}; only regular files, directories and in-tree symlinks can be packed`));
  }
}

// Reuse the manifest's symlink rules so pack never writes a manifest that readers would reject.
function symlinkFailures(entries: SourceEntry[]): Failure[] {
  const files: ManifestEntry[] = entries.map((e) =>
    e.type === 'symlink' ? { path: e.path, type: 'symlink', target: e.target } : { path: e.path, size: e.size, sha256: '' },
  );
  const probe: Manifest = { schema: 'airlock.bundle/v1', id: 'scan', name: 'scan', kind: 'model-dir', channel: 'scan', sequence: 0, created: '', profiles: [], images: [], files };
  return manifestProblems(probe)
    .items.filter((f) => f.code === 'BAD_SYMLINK')
    .map((f) => ({ code: 'SOURCE_INVALID', message: f.message, ...(f.path === undefined ? {} : { path: f.path }) }));
}

function invalid(relPath: string, why: string): Failure {
  return { code: 'SOURCE_INVALID', path: relPath, message: `${relPath} ${why}` };
}

function specialKind(st: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return 'special file';
}
