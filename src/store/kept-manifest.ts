// The manifest each deployment was installed from, kept as content under its own digest.
import { promises as fsp } from 'node:fs';
import { AirlockError } from '../errors.js';
import { isSymlink, parseManifest, type Manifest } from '../format/manifest.js';
import { sha256Hex } from '../hash/digest.js';
import { blobPath } from './content.js';
import type { DeploymentRecord } from './state.js';

/** Kept manifests were verified when installed (under whatever size limit applied then): only a sanity bound here. */
const MAX_KEPT_MANIFEST_BYTES = 1024 * 1024 * 1024;

/** Read and check (digest, schema) a deployment's manifest; STORE_INVALID when it is gone or altered. */
export async function readKeptManifest(store: string, d: DeploymentRecord): Promise<Manifest> {
  const file = blobPath(store, d.manifestDigest);
  const st = await fsp.lstat(file).catch(() => undefined);
  if (!st?.isFile() || st.size > MAX_KEPT_MANIFEST_BYTES)
    throw new AirlockError('STORE_INVALID', `the manifest of deployment ${d.bundleId} (${d.manifestDigest}) is missing from content`, { path: file });
  const bytes = await fsp.readFile(file);
  if (sha256Hex(bytes) !== d.manifestDigest)
    throw new AirlockError('STORE_INVALID', `the manifest of deployment ${d.bundleId} in content does not match its digest`, { path: file });
  try {
    return parseManifest(bytes, { origin: file, maxBytes: MAX_KEPT_MANIFEST_BYTES });
  } catch (err) {
    throw new AirlockError('STORE_INVALID', `the manifest of deployment ${d.bundleId} no longer parses: ${(err as Error).message}`, {
      path: file,
      cause: err,
    });
  }
}

/** Every content hash a deployment needs: its manifest, its files (delta-omitted ones too) and its image archives. */
export function referencedContent(d: DeploymentRecord, m: Manifest): string[] {
  const out = [d.manifestDigest];
  for (const e of m.files) if (!isSymlink(e)) out.push(e.sha256);
  for (const i of archivedImageShas(d, m)) out.push(i);
  for (const s of d.signatures ?? []) out.push(s.sha256);
  return out;
}

/** The image archives a deployment keeps as content: not those it pulls from a registry instead. */
export function archivedImageShas(d: DeploymentRecord, m: Manifest): string[] {
  return m.images.filter((_, i) => d.images[i]?.pull === undefined).map((i) => i.sha256);
}
