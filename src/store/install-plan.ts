// What an install needs from the store before any payload byte is read: which content it already holds,
// which delta-omitted files are missing, and how much it will write.
import type { Failure } from '../errors.js';
import { isSymlink, type FileEntry, type Manifest } from '../format/manifest.js';
import { hasBlob } from './content.js';
import type { SpacePlan } from './space.js';
import { treeDirs } from './tree-builder.js';

/** The images whose archives the install stores: all but those a registry source has the runtime pull. */
export function archivedImages(m: Manifest, pulled: ReadonlySet<string> = new Set()): Manifest['images'] {
  return m.images.filter((i) => !pulled.has(i.archive));
}

/** sha256 → whether the store already holds it, for every blob the bundle's tree and image archives use. */
export async function contentPresence(
  store: string,
  m: Manifest,
  manifestDigest: string,
  manifestSize: number,
  pulled?: ReadonlySet<string>,
): Promise<Map<string, boolean>> {
  const sizes = new Map<string, number>([[manifestDigest, manifestSize]]);
  for (const e of m.files) if (!isSymlink(e)) sizes.set(e.sha256, e.size);
  for (const i of archivedImages(m, pulled)) sizes.set(i.sha256, i.size);
  const presence = new Map<string, boolean>();
  const entries = [...sizes];
  for (let i = 0; i < entries.length; i += 64) {
    await Promise.all(entries.slice(i, i + 64).map(async ([sha, size]) => presence.set(sha, await hasBlob(store, sha, size))));
  }
  return presence;
}

/** MISSING_CONTENT for every omitted file whose content the store does not hold. Pure. */
export function missingOmitted(m: Manifest, presence: Map<string, boolean>): Failure[] {
  return files(m)
    .filter((f) => f.omitted && presence.get(f.sha256) !== true)
    .map((f) => ({
      code: 'MISSING_CONTENT',
      path: f.path,
      message: `${f.path} (sha256 ${f.sha256}) is left out of this delta bundle and not in the store`,
    }));
}

/** Bytes and inodes an install writes: each new blob once, executable copies, folders, symlinks. Pure. */
export function spacePlanFor(
  m: Manifest,
  presence: Map<string, boolean>,
  stateBytes: number,
  manifest: { digest: string; size: number },
  pulled?: ReadonlySet<string>,
): SpacePlan {
  const newBlobs = new Map<string, number>();
  if (presence.get(manifest.digest) !== true) newBlobs.set(manifest.digest, manifest.size);
  for (const f of files(m)) if (presence.get(f.sha256) !== true) newBlobs.set(f.sha256, f.size);
  for (const i of archivedImages(m, pulled)) if (presence.get(i.sha256) !== true) newBlobs.set(i.sha256, i.size);
  return {
    newBlobs: [...newBlobs.values()],
    copies: files(m)
      .filter((f) => f.mode === '0755')
      .map((f) => f.size),
    dirs: treeDirs(m).length + 1,
    symlinks: m.files.length - files(m).length,
    linkedFiles: files(m).length,
    stateBytes,
  };
}

function files(m: Manifest): FileEntry[] {
  return m.files.filter((e): e is FileEntry => !isSymlink(e));
}
