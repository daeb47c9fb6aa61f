// removeAfterInstall: delete an installed bundle from its drop folder. Never on media, never outside a drop
// folder, and never through a link: the drop folder is opened once and every level below it by descriptor, so
// a folder swapped for a symlink to the store mid-removal is unlinked as a link (issue 11: an `rm -rf` through
// such a swap once took the store and its audit trail with it).
import path from 'node:path';
import { PARTS_INDEX_SUFFIX, PARTS_SIGNATURES_SUFFIX, SIDECAR_SIGNATURES_SUFFIX, TAR_SUFFIX } from '../format/layout.js';
import { DirHandle } from '../safe-fs/dir-handle.js';
import { removeConfined } from '../safe-fs/remove-tree.js';
import { isWithin, type Candidate } from '../watcher/candidates.js';

/** Whether a bundle at this place may be removed at all (pure). */
export function mayRemove(c: Pick<Candidate, 'location' | 'media'>, dropFolders: string[]): boolean {
  return !c.media && dropFolders.some((d) => c.location !== d && isWithin(d, c.location));
}

/** The names making up the bundle in its folder: the folder itself, or the tar / index with its parts and sidecar signatures (pure). */
export function bundleNames(c: Pick<Candidate, 'form' | 'location'>, siblings: string[]): string[] {
  const name = path.basename(c.location);
  if (c.form === 'dir') return [name];
  const suffix = c.form === 'tar' ? TAR_SUFFIX : PARTS_INDEX_SUFFIX;
  const base = name.slice(0, name.length - suffix.length);
  const out = [name, base + SIDECAR_SIGNATURES_SUFFIX];
  if (c.form === 'split') {
    out.push(base + PARTS_SIGNATURES_SUFFIX);
    const partName = new RegExp(`^${escapeRegExp(base)}\\.airlock\\.tar\\.\\d{3,}$`);
    out.push(...siblings.filter((n) => partName.test(n)).sort());
  }
  return out;
}

export async function removeDrop(c: Pick<Candidate, 'form' | 'location' | 'media'>, dropFolders: string[]): Promise<boolean> {
  if (!mayRemove(c, dropFolders)) return false;
  const drop = dropFolders.filter((d) => c.location !== d && isWithin(d, c.location)).sort((a, b) => b.length - a.length)[0]!;
  const root = await DirHandle.open(drop);
  try {
    const folder = await root.openPath(path.relative(drop, path.dirname(c.location)));
    try {
      const siblings = c.form === 'split' ? await folder.list() : [];
      for (const n of bundleNames(c, siblings)) await removeConfined(folder, n);
    } finally {
      await folder.close();
    }
  } finally {
    await root.close();
  }
  return true;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
