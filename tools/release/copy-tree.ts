// Copy a folder into the release tree, regular files and folders only, leaving out what `skip` says.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';

/** `rel` is relative to the folder being copied, with `/` separators. */
export type SkipRule = (rel: string, isDir: boolean) => boolean;

export async function copyTree(from: string, to: string, skip: SkipRule = () => false, rel = ''): Promise<number> {
  await mkdir(to, { recursive: true });
  let files = 0;
  const entries = (await readdir(from, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const src = path.join(from, e.name);
    if (e.isDirectory()) {
      if (!skip(r, true)) files += await copyTree(src, path.join(to, e.name), skip, r);
    } else if (e.isFile()) {
      if (skip(r, false)) continue;
      await copyFile(src, path.join(to, e.name));
      files++;
    } else if (!skip(r, false)) {
      // A symlink could point outside the tree on the target; nothing airlock ships needs one.
      throw new AirlockError('RELEASE_INVALID', `${src} is not a regular file or folder; the release tree holds only those`, { path: src });
    }
  }
  return files;
}
