// A payload unpacked and verified before the install began, in a folder private to airlock (the daemon's parts
// spool: src/spool/unpacker.ts verified every entry against the trusted manifest as its parts arrived). The
// install hands each blob to the store's staging by hard link: no byte is read again, and nothing outside the
// store's file system is involved. Used only for a folder the daemon names itself, never one a drop could name.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FailureList } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import type { WalkSink } from '../format/payload.js';
import { EntryChecker } from './entry-checker.js';

export interface PrestagedPayload {
  /** verified blobs, each named by its sha256 */
  blobsDir: string;
  /** the manifest (sha256 of its exact bytes) they were verified against */
  manifestDigest: string;
}

/** Whether every blob the manifest needs is there at its size (lstat only); otherwise the install reads the bundle itself. */
export async function prestagedComplete(manifest: Manifest, p: PrestagedPayload): Promise<boolean> {
  const sizes = new Map(new EntryChecker(manifest).listed().map((e) => [e.sha256, e.size]));
  for (const [sha, size] of sizes) {
    const st = await fsp.lstat(path.join(p.blobsDir, sha)).catch(() => undefined);
    if (!st?.isFile() || st.size !== size) return false;
  }
  return true;
}

/** Fill staging from the blobs: each linked where the sink wants it (copied where links are refused), then counted verified. */
export async function fillFromPrestaged(
  manifest: Manifest,
  p: PrestagedPayload,
  sink: WalkSink,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<{ failures: FailureList; bytesVerified: number; filesVerified: number }> {
  let bytesVerified = 0;
  let filesVerified = 0;
  for (const exp of new EntryChecker(manifest).listed()) {
    signal?.throwIfAborted();
    const target = await sink.copyTarget?.(exp);
    if (target !== undefined) {
      const blob = path.join(p.blobsDir, exp.sha256);
      await fsp.link(blob, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV' && err.code !== 'EPERM' && err.code !== 'EMLINK') throw err;
        await fsp.copyFile(blob, target);
      });
      await sink.verified?.(exp);
    }
    bytesVerified += exp.size;
    filesVerified++;
    onBytes(bytesVerified);
  }
  return { failures: new FailureList(), bytesVerified, filesVerified };
}
