// The store folder itself: created on first install, recognised before anything in it is touched.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { makeDir } from './durable.js';
import { CONTENT_DIR, DEPLOYMENTS_DIR, KNOWN_TOP_LEVEL, MODELS_DIR, STAGING_DIR, STATE_FILE, TEMP_PREFIX } from './layout.js';

/**
 * Throw STORE_INVALID unless `store` is a folder airlock may manage: it holds state.json, or only
 * names a store uses (a fresh or never-committed store). Nothing else is ever deleted by recovery or gc.
 */
export async function assertStoreShape(store: string, mustExist: boolean): Promise<void> {
  const names = await fsp.readdir(store).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && !mustExist) return [] as string[];
    if (err.code === 'ENOENT') throw new AirlockError('STORE_INVALID', `no store at ${store}`, { path: store, cause: err });
    if (err.code === 'ENOTDIR') throw new AirlockError('STORE_INVALID', `store ${store} is not a folder`, { path: store, cause: err });
    throw err;
  });
  if (names.includes(STATE_FILE)) return;
  const foreign = names.filter((n) => !KNOWN_TOP_LEVEL.has(n) && !n.startsWith(TEMP_PREFIX));
  if (foreign.length > 0) {
    throw new AirlockError(
      'STORE_INVALID',
      `${store} is not an airlock store (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''} and no ${STATE_FILE})`,
      { path: store },
    );
  }
}

/** Create the store's folders (idempotent). */
export async function prepareStore(store: string): Promise<void> {
  await fsp.mkdir(store, { recursive: true, mode: 0o755 });
  await fsp.chmod(store, 0o755);
  for (const d of [CONTENT_DIR, `${CONTENT_DIR}/sha256`, DEPLOYMENTS_DIR, MODELS_DIR]) await makeDir(path.join(store, d), 0o755);
  await makeDir(path.join(store, STAGING_DIR), 0o700);
}
