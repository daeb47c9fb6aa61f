// Where the daemon keeps what it verified while bundles arrive, inside the store (docs/arrival.md, docs/parts.md).
// Pure: names only.
//
//   STORE/daemon/spool/staged/<KEY>/             a folder bundle verified while it arrives (stager.ts, spool.ts)
//   STORE/daemon/spool/parts/                    0700, the daemon's own (never emptied by the store's crash recovery)
//     <sha256 of the index bytes>/               one folder per trusted parts index: itself a split bundle on disk
//       <base>.airlock.parts.json                the index's exact bytes
//       <base>.airlock.parts.signatures/*.sig    its signatures, as found beside it (on every stick it was seen on)
//       <base>.airlock.signatures/*.sig          the manifest's countersignatures found beside it
//       <base>.airlock.tar.NNN                   each part, verified against the signed index and fsynced
//       spool.json                               what was spooled from where (schema/spool.schema.json)
//       blobs/<sha256>                           payload files unpacked from the parts so far, verified by the manifest
//       unpacked.json                            present once every entry was unpacked and verified
//       .tmp-*                                   a copy or unpack in progress (removed at start-up)
import path from 'node:path';
import { PARTS_INDEX_SUFFIX, partsSignaturesName, SIDECAR_SIGNATURES_SUFFIX } from '../format/layout.js';

export const SPOOL_DIR = 'spool';
/** split bundles spooled part by part (parts-spool.ts) */
export const PARTS_DIR = 'parts';
/** folder bundles verified while they arrive (stager.ts) */
export const STAGED_DIR = 'staged';
export const SPOOL_RECORD = 'spool.json';
export const SPOOL_SCHEMA_VERSION = 'airlock.spool/v1';
export const UNPACKED_RECORD = 'unpacked.json';
export const UNPACKED_SCHEMA_VERSION = 'airlock.unpacked/v1';
export const BLOBS_DIR = 'blobs';
export const SPOOL_TEMP_PREFIX = '.tmp-';

/** `STORE/daemon/spool/parts`, the parts spool: `daemonDir` is the daemon's own folder in the store. */
export function spoolRoot(daemonDir: string): string {
  return path.join(daemonDir, SPOOL_DIR, PARTS_DIR);
}

/** `STORE/daemon/spool/staged`, the copies of folder bundles verified while they arrive. */
export function stagedRoot(daemonDir: string): string {
  return path.join(daemonDir, SPOOL_DIR, STAGED_DIR);
}

export function spoolDir(root: string, key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a spool key: ${key}`);
  return path.join(root, key);
}

/** The spooled bundle's index, which is what the daemon's record names and installs from. */
export function spoolIndexPath(root: string, key: string, indexName: string): string {
  return path.join(spoolDir(root, key), indexName);
}

export function sidecarName(indexName: string): string {
  return indexName.slice(0, indexName.length - PARTS_INDEX_SUFFIX.length) + SIDECAR_SIGNATURES_SUFFIX;
}

export { partsSignaturesName };

/** The spool key a location inside the spool belongs to, or undefined for any other place. */
export function spoolKeyOf(root: string, location: string): string | undefined {
  const rel = path.relative(root, location);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const key = rel.split(path.sep)[0] ?? '';
  return /^[0-9a-f]{64}$/.test(key) ? key : undefined;
}
