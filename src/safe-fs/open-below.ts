// A folder below a trusted root (a drop folder, a media root, the spool), opened one level at a time without
// following a link: a folder swapped for a symlink anywhere between the root and the target is refused.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { DirHandle } from './dir-handle.js';

/** `dir` opened below `root`; `shownAs` names it in messages. NOT_A_BUNDLE when `dir` is not below `root`. */
export async function openBelow(root: string, dir: string, shownAs: string, location: string = dir): Promise<DirHandle> {
  const rel = path.relative(path.resolve(root), path.resolve(dir));
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new AirlockError('NOT_A_BUNDLE', `${location} is not inside ${root}`, { path: location });
  const top = await DirHandle.open(root);
  try {
    return await top.openPath(rel, shownAs);
  } finally {
    await top.close();
  }
}
