// File system steps that survive power loss: fsync of files and directories, atomic replace by rename.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { TEMP_PREFIX } from './layout.js';

/** fsync a directory so the names created, renamed or removed in it are on disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function tempName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `${TEMP_PREFIX}${path.basename(finalPath)}-${randomBytes(6).toString('hex')}`);
}

/** Replace `file` with `data` atomically: write a temporary beside it, fsync, rename over, fsync the folder. */
export async function writeFileAtomic(file: string, data: Buffer | string, mode = 0o644): Promise<void> {
  const tmp = tempName(file);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/** Point symlink `link` at `target` atomically (a new link renamed over the old one), then fsync its folder. */
export async function replaceSymlink(link: string, target: string): Promise<void> {
  const tmp = tempName(link);
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, link);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(link));
}

/** mkdir that reports whether it created the folder (so a failed install can remove only what it made). */
export async function makeDir(dir: string, mode = 0o755): Promise<boolean> {
  try {
    await fsp.mkdir(dir, { mode });
    // mkdir's mode is filtered by the umask; the container user must be able to traverse the store.
    await fsp.chmod(dir, mode);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export async function pathExists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Remove a tree that may hold read-only files and folders. Folders are made writable first
 * (an unprivileged owner cannot unlink inside a 0555 folder); symlinks are removed, never followed.
 */
export async function removeTree(p: string): Promise<void> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    if ((st.mode & 0o700) !== 0o700) await fsp.chmod(p, 0o700).catch(() => undefined);
  }
  await fsp.rm(p, { recursive: true, force: true });
}
