// Work out which form a bundle location is: a directory, a tar, or split parts. Nothing is opened here.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MANIFEST_NAME, PARTS_INDEX_SUFFIX, SIDECAR_SIGNATURES_SUFFIX, TAR_SUFFIX } from '../format/layout.js';

export type BundleLocation =
  | { form: 'dir'; dir: string }
  | { form: 'tar'; tarFile: string; sidecarDir: string }
  | { form: 'split'; indexFile: string; partsDir: string; sidecarDir: string };

/**
 * `within`: a trusted folder (a drop folder) the location lies in. Then the location itself is looked at
 * without following a link (a drop that is a symlink is refused); without it the path is the user's word.
 */
export async function locateBundle(location: string, within?: string): Promise<BundleLocation> {
  const abs = path.resolve(location);
  if (within !== undefined && !isInside(within, abs)) {
    throw new AirlockError('NOT_A_BUNDLE', `${location} is not inside ${within}`, { path: location });
  }
  const st = await (within === undefined ? fsp.stat(abs) : fsp.lstat(abs)).catch((err: unknown) => {
    throw new AirlockError('NOT_A_BUNDLE', `${location} does not exist or cannot be read`, { path: location, cause: err });
  });
  if (st.isSymbolicLink()) throw new AirlockError('WRONG_TYPE', `${location} is a symlink; a drop is read only where it lies`, { path: location });
  if (st.isDirectory()) return locateInFolder(location, abs, within);
  if (!st.isFile()) throw new AirlockError('WRONG_TYPE', `${location} is ${kindOf(st)}, not a bundle`, { path: location });
  const dir = path.dirname(abs);
  const name = path.basename(abs);
  if (name.endsWith(TAR_SUFFIX)) {
    return { form: 'tar', tarFile: abs, sidecarDir: path.join(dir, name.slice(0, -TAR_SUFFIX.length) + SIDECAR_SIGNATURES_SUFFIX) };
  }
  const base = name.endsWith(PARTS_INDEX_SUFFIX) ? name.slice(0, -PARTS_INDEX_SUFFIX.length) : /^(.+)\.airlock\.tar\.\d{3,}$/.exec(name)?.[1];
  if (base !== undefined) {
    return {
      form: 'split',
      indexFile: path.join(dir, base + PARTS_INDEX_SUFFIX),
      partsDir: dir,
      sidecarDir: path.join(dir, base + SIDECAR_SIGNATURES_SUFFIX),
    };
  }
  throw new AirlockError(
    'NOT_A_BUNDLE',
    `${location} is not a bundle: expected a directory with ${MANIFEST_NAME}, a *${TAR_SUFFIX}, a *${PARTS_INDEX_SUFFIX} or a first part`,
    { path: location },
  );
}

async function locateInFolder(location: string, abs: string, within: string | undefined): Promise<BundleLocation> {
  if (
    await fsp.lstat(path.join(abs, MANIFEST_NAME)).then(
      () => true,
      () => false,
    )
  )
    return { form: 'dir', dir: abs };
  // A folder holding exactly one tar or part index (what `pack --format tar` writes) is that bundle.
  const names: string[] = [];
  const dir = await fsp.opendir(abs);
  for await (const d of dir) {
    if (d.name.endsWith(TAR_SUFFIX) || d.name.endsWith(PARTS_INDEX_SUFFIX)) names.push(d.name);
    if (names.length > 1) break;
  }
  if (names.length === 1) return locateBundle(path.join(abs, names[0]!), within);
  throw new AirlockError(
    'NOT_A_BUNDLE',
    `${location} holds no ${MANIFEST_NAME}${names.length > 1 ? ` and several bundles (${names.join(', ')})` : ''}`,
    { path: location },
  );
}

export function isInside(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}
