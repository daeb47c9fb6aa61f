// Remove a tree on untrusted ground without ever following a link: each folder is opened by descriptor
// (O_NOFOLLOW) and emptied through it, so a folder swapped for a symlink at any moment is unlinked as a link,
// never descended. This is the reason `fs.rm({ recursive: true })` is not used on drops: it re-resolves
// every path by name, and a swapped ancestor sends it anywhere (issue 11: a removed drop took the store with it).
import { promises as fsp } from 'node:fs';
import { AirlockError } from '../errors.js';
import type { DirHandle } from './dir-handle.js';

export interface RemoveLimits {
  /** deepest nesting removed (a bundle is a few levels deep; a pathological tree is refused, not recursed) */
  maxDepth: number;
  /** entries removed at most, in all */
  maxEntries: number;
}

export const DEFAULT_REMOVE_LIMITS: RemoveLimits = { maxDepth: 64, maxEntries: 1_000_000 };

/** Remove `name` inside `parent` (a file, a link, or a whole folder). Returns the number of entries removed. */
export async function removeConfined(parent: DirHandle, name: string, limits: RemoveLimits = DEFAULT_REMOVE_LIMITS): Promise<number> {
  const budget = { left: limits.maxEntries };
  return removeEntry(parent, name, 0, limits.maxDepth, budget);
}

async function removeEntry(parent: DirHandle, name: string, depth: number, maxDepth: number, budget: { left: number }): Promise<number> {
  if (--budget.left < 0)
    throw new AirlockError('IO_ERROR', `${parent.label(name)}: more entries than the removal limit; left in place`, { path: parent.label(name) });
  const st = await parent.lstat(name);
  if (!st) return 0;
  if (!st.isDirectory()) {
    await unlinkIfPresent(parent.child(name));
    return 1;
  }
  if (depth >= maxDepth)
    throw new AirlockError('IO_ERROR', `${parent.label(name)}: nested deeper than ${maxDepth} levels; left in place`, { path: parent.label(name) });
  let dir: DirHandle;
  try {
    dir = await parent.openDir(name);
  } catch (err) {
    // Swapped for a link or a file since the lstat: remove what is there now, as a non-directory.
    if (err instanceof AirlockError && err.code === 'WRONG_TYPE') {
      await unlinkIfPresent(parent.child(name));
      return 1;
    }
    throw err;
  }
  let removed = 0;
  try {
    for (const child of await dir.list()) removed += await removeEntry(dir, child, depth + 1, maxDepth, budget);
  } finally {
    await dir.close();
  }
  await fsp.rmdir(parent.child(name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return removed + 1;
}

async function unlinkIfPresent(p: string): Promise<void> {
  await fsp.unlink(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
