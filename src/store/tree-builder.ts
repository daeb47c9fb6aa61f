// Materialise a bundle's tree from verified blobs: folders 0755, files hard-linked from content
// (0444, no second copy of the bytes), executables copied 0555, the manifest's symlinks recreated.
// Every name comes from the validated manifest and every folder is made here, so nothing can lead outside.
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { isSymlink, type FileEntry, type Manifest } from '../format/manifest.js';
import { impliedFolders } from '../format/path-tree.js';
import { fsyncDir } from './durable.js';

export interface TreeResult {
  files: number;
  symlinks: number;
  /** files copied because the file system refused a hard link (EXDEV, EPERM, EMLINK, …) */
  fallbackCopies: number;
  /** executables, copied so they can carry mode 0555 while content stays 0444 */
  executableCopies: number;
}

const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
const PARALLEL = 16;

/** Build the tree at `root` (which must not exist). `source(sha)` names the verified blob to link from. */
export async function buildTree(root: string, manifest: Manifest, source: (sha256: string) => string, signal?: AbortSignal): Promise<TreeResult> {
  const result: TreeResult = { files: 0, symlinks: 0, fallbackCopies: 0, executableCopies: 0 };
  const dirs = treeDirs(manifest);
  await fsp.mkdir(root, { mode: 0o755 });
  await fsp.chmod(root, 0o755);
  for (const d of dirs) {
    const abs = path.join(root, ...d.split('/'));
    await fsp.mkdir(abs, { mode: 0o755 });
    // mkdir's mode is filtered by the umask; the container user must be able to traverse every folder.
    await fsp.chmod(abs, 0o755);
  }
  const files = manifest.files.filter((e): e is FileEntry => !isSymlink(e));
  for (let i = 0; i < files.length; i += PARALLEL) {
    signal?.throwIfAborted();
    await Promise.all(
      files.slice(i, i + PARALLEL).map(async (f) => {
        const how = await placeFile(source(f.sha256), path.join(root, ...f.path.split('/')), f.mode === '0755');
        if (how === 'fallback') result.fallbackCopies++;
        if (how === 'executable') result.executableCopies++;
        result.files++;
      }),
    );
  }
  for (const e of manifest.files) {
    if (!isSymlink(e)) continue;
    await fsp.symlink(e.target, path.join(root, ...e.path.split('/')));
    result.symlinks++;
  }
  // Deepest first, so each folder's entries are durable before the folder that names it.
  for (const d of [...dirs].reverse()) await fsyncDir(path.join(root, ...d.split('/')));
  await fsyncDir(root);
  return result;
}

/** Every folder the tree needs, parents before children (by depth, then name, so the order is stable). */
export function treeDirs(manifest: Manifest): string[] {
  const depth = (d: string) => d.split('/').length;
  return impliedFolders(manifest.files.map((e) => e.path)).sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
}

async function placeFile(src: string, dest: string, executable: boolean): Promise<'link' | 'fallback' | 'executable'> {
  if (executable) {
    await copyDurably(src, dest, 0o555);
    return 'executable';
  }
  try {
    await fsp.link(src, dest);
    return 'link';
  } catch (err) {
    if (!LINK_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  await copyDurably(src, dest, 0o444);
  return 'fallback';
}

async function copyDurably(src: string, dest: string, mode: number): Promise<void> {
  await fsp.copyFile(src, dest, constants.COPYFILE_EXCL);
  const fh = await fsp.open(dest, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
