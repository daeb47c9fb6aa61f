// Work out which form a bundle location is: a directory, a tar, or split parts.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MANIFEST_NAME, PARTS_INDEX_SUFFIX, SIDECAR_SIGNATURES_SUFFIX, TAR_SUFFIX } from '../format/layout.js';

export type BundleLocation =
  | { form: 'dir'; dir: string }
  | { form: 'tar'; tarFile: string; sidecarDir: string }
  | { form: 'split'; indexFile: string; partsDir: string; sidecarDir: string };

export async function locateBundle(location: string): Promise<BundleLocation> {
  const abs = path.resolve(location);
  const st = await fsp.stat(abs).catch((err: unknown) => {
    throw new AirlockError('NOT_A_BUNDLE', `${location} does not exist or cannot be read`, { path: location, cause: err });
  });
  if (st.isDirectory()) {
    if (await exists(path.join(abs, MANIFEST_NAME))) return { form: 'dir', dir: abs };
    // A folder holding exactly one tar or part index (what `pack --format tar` writes) is that bundle.
    const names = (await fsp.readdir(abs)).filter((n) => n.endsWith(TAR_SUFFIX) || n.endsWith(PARTS_INDEX_SUFFIX));
    if (names.length === 1 && names[0] !== undefined) return locateBundle(path.join(abs, names[0]));
    throw new AirlockError('NOT_A_BUNDLE', `${location} holds no ${MANIFEST_NAME}${names.length > 1 ? ` and several bundles (${names.join(', ')})` : ''}`, { path: location });
  }
  const dir = path.dirname(abs);
  const name = path.basename(abs);
  if (name.endsWith(TAR_SUFFIX)) {
    return { form: 'tar', tarFile: abs, sidecarDir: path.join(dir, name.slice(0, -TAR_SUFFIX.length) + SIDECAR_SIGNATURES_SUFFIX) };
  }
  const base = name.endsWith(PARTS_INDEX_SUFFIX) ? name.slice(0, -PARTS_INDEX_SUFFIX.length) : /^(.+)\.airlock\.tar\.\d{3,}$/.exec(name)?.[1];
  if (base !== undefined) {
    return { form: 'split', indexFile: path.join(dir, base + PARTS_INDEX_SUFFIX), partsDir: dir, sidecarDir: path.join(dir, base + SIDECAR_SIGNATURES_SUFFIX) };
  }
  throw new AirlockError('NOT_A_BUNDLE', `${location} is not a bundle: expected a directory with ${MANIFEST_NAME}, a *${TAR_SUFFIX}, a *${PARTS_INDEX_SUFFIX} or a first part`, { path: location });
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}
