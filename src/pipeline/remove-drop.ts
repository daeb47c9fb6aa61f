// removeAfterInstall: delete an installed bundle from its drop folder. Never on media, never outside a drop folder.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PARTS_INDEX_SUFFIX, SIDECAR_SIGNATURES_SUFFIX, TAR_SUFFIX } from '../format/layout.js';
import { isWithin, type Candidate } from '../watcher/candidates.js';

/** Whether a bundle at this place may be removed at all (pure). */
export function mayRemove(c: Pick<Candidate, 'location' | 'media'>, dropFolders: string[]): boolean {
  return !c.media && dropFolders.some((d) => c.location !== d && isWithin(d, c.location));
}

/** Every path making up the bundle: the folder, or the tar / index with its parts and sidecar signatures. */
export async function bundlePaths(c: Pick<Candidate, 'form' | 'location'>): Promise<string[]> {
  if (c.form === 'dir') return [c.location];
  const dir = path.dirname(c.location);
  const name = path.basename(c.location);
  const suffix = c.form === 'tar' ? TAR_SUFFIX : PARTS_INDEX_SUFFIX;
  const base = name.slice(0, name.length - suffix.length);
  const out = [c.location, path.join(dir, base + SIDECAR_SIGNATURES_SUFFIX)];
  if (c.form === 'split') {
    const partName = new RegExp(`^${escapeRegExp(base)}\\.airlock\\.tar\\.\\d{3,}$`);
    for (const n of await fsp.readdir(dir)) if (partName.test(n)) out.push(path.join(dir, n));
  }
  return out;
}

export async function removeDrop(c: Pick<Candidate, 'form' | 'location' | 'media'>, dropFolders: string[]): Promise<boolean> {
  if (!mayRemove(c, dropFolders)) return false;
  for (const p of await bundlePaths(c)) await fsp.rm(p, { recursive: true, force: true });
  return true;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
