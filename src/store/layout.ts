// Where everything lives inside a store. Pure: names only, no file system access.
// docs/guide-operator.md ("The store") documents the same tree.
import path from 'node:path';

export const STATE_FILE = 'state.json';
export const LOCK_FILE = 'lock';
export const CONTENT_DIR = 'content';
export const DEPLOYMENTS_DIR = 'deployments';
export const MODELS_DIR = 'models';
export const STAGING_DIR = 'staging';
export const CURRENT_LINK = 'current';
export const STATE_SCHEMA_VERSION = 'airlock.store-state/v2';
/** Read and upgraded (store/state.ts upgradeState); never written. */
export const STATE_SCHEMA_V1 = 'airlock.store-state/v1';

/** Top-level names a store may hold; `daemon` belongs to the daemon, dot-files are airlock's temporaries. */
export const KNOWN_TOP_LEVEL = new Set([STATE_FILE, LOCK_FILE, CONTENT_DIR, DEPLOYMENTS_DIR, MODELS_DIR, STAGING_DIR, 'daemon', 'lost+found']);

/** Temporary files written beside their final name; anything matching is a crash leftover when no lock holder is alive. */
export const TEMP_PREFIX = '.tmp-';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Store-relative path of a content blob: content/sha256/ab/abcdef… */
export function blobRelPath(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return `${CONTENT_DIR}/sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/**
 * A model name as one directory name. Names are `[a-z0-9._-]` segments joined by `/` (manifest schema),
 * so `_` never occurs in one and replacing `/` by `_` keeps distinct names distinct.
 */
export function modelSlug(name: string): string {
  return name.replaceAll('/', '_');
}

/** Store-relative directory of an installed bundle's tree. Bundle ids are `[A-Za-z0-9._-]` (manifest schema). */
export function deploymentRelDir(name: string, bundleId: string): string {
  return `${DEPLOYMENTS_DIR}/${modelSlug(name)}/${bundleId}`;
}

export function currentLinkRelPath(name: string): string {
  return `${MODELS_DIR}/${modelSlug(name)}/${CURRENT_LINK}`;
}

/** The target written into models/<slug>/current: relative, so the store can be moved or bind-mounted whole. */
export function currentLinkTarget(name: string, bundleId: string): string {
  return `../../${deploymentRelDir(name, bundleId)}`;
}

export function storePath(store: string, rel: string): string {
  return path.join(store, ...rel.split('/'));
}
