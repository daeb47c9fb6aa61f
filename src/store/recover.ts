// Start-up repair, run under the store lock before any change: whatever a crash (kill -9, power loss)
// left between the steps of an install is finished or removed, guided only by the committed state.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir, removeTree, replaceSymlink } from './durable.js';
import { CURRENT_LINK, currentLinkTarget, DEPLOYMENTS_DIR, LOCK_FILE, MODELS_DIR, modelSlug, STAGING_DIR, storePath, TEMP_PREFIX } from './layout.js';
import { acquireStoreLock, isAlive, lockHolder, parseOwner } from './lock.js';
import { readState } from './state-file.js';
import type { StoreState } from './state.js';

export interface RecoveryReport {
  /** leftovers of interrupted installs removed from staging/ */
  stagingRemoved: string[];
  /** trees under deployments/ the committed state does not reference (moved in before a commit that never happened, or evicted after one) */
  deploymentsRemoved: string[];
  /** models/<slug>/current links set back to what the committed state says */
  pointersRepaired: string[];
  tempFilesRemoved: string[];
}

/** Bring the store in line with state.json. The caller holds the store lock. */
export async function recoverStore(store: string): Promise<RecoveryReport> {
  const report: RecoveryReport = { stagingRemoved: [], deploymentsRemoved: [], pointersRepaired: [], tempFilesRemoved: [] };
  const state = await readState(store);
  await removeTopLevelTemps(store, report);
  const staging = path.join(store, STAGING_DIR);
  for (const name of await readdirOrEmpty(staging)) {
    await removeTree(path.join(staging, name));
    report.stagingRemoved.push(`${STAGING_DIR}/${name}`);
  }

  const wanted = new Set(state.models.flatMap((m) => m.deployments.map((d) => d.dir)));
  const slugs = new Set(state.models.map((m) => modelSlug(m.name)));
  const deployments = path.join(store, DEPLOYMENTS_DIR);
  for (const slug of await readdirOrEmpty(deployments)) {
    const slugDir = path.join(deployments, slug);
    for (const id of await readdirOrEmpty(slugDir)) {
      const rel = `${DEPLOYMENTS_DIR}/${slug}/${id}`;
      if (wanted.has(rel)) continue;
      // Moved out of deployments/ in one rename first, so a half-deleted tree is never visible there.
      const aside = path.join(staging, `${TEMP_PREFIX}unreferenced-${slug}-${id}`);
      await fsp.mkdir(staging, { recursive: true, mode: 0o700 });
      await fsp.rename(path.join(slugDir, id), aside);
      await removeTree(aside);
      report.deploymentsRemoved.push(rel);
    }
    if (!slugs.has(slug)) await fsp.rmdir(slugDir).catch(() => undefined);
  }
  if (report.deploymentsRemoved.length > 0) await fsyncDir(deployments);

  const models = path.join(store, MODELS_DIR);
  for (const slug of await readdirOrEmpty(models)) {
    if (!slugs.has(slug)) {
      await removeTree(path.join(models, slug));
      report.tempFilesRemoved.push(`${MODELS_DIR}/${slug}`);
      continue;
    }
    for (const name of await readdirOrEmpty(path.join(models, slug))) {
      if (name !== CURRENT_LINK) {
        await fsp.rm(path.join(models, slug, name), { force: true, recursive: true });
        report.tempFilesRemoved.push(`${MODELS_DIR}/${slug}/${name}`);
      }
    }
  }
  for (const m of state.models) {
    const current = m.deployments[0];
    if (!current) continue;
    const link = storePath(store, `${MODELS_DIR}/${modelSlug(m.name)}/${CURRENT_LINK}`);
    const target = currentLinkTarget(m.name, current.bundleId);
    if ((await fsp.readlink(link).catch(() => undefined)) === target) continue;
    await fsp.mkdir(path.dirname(link), { recursive: true, mode: 0o755 });
    await replaceSymlink(link, target);
    report.pointersRepaired.push(`${MODELS_DIR}/${modelSlug(m.name)}/${CURRENT_LINK}`);
  }
  return report;
}

// `.tmp-*` beside state.json are unfinished writes (the rename is the commit, so they never count);
// `.tmp-lock-*` are lock files being taken, removed only when their writer is gone.
async function removeTopLevelTemps(store: string, report: RecoveryReport): Promise<void> {
  for (const name of await readdirOrEmpty(store)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const file = path.join(store, name);
    if (name.startsWith(`${TEMP_PREFIX}lock-`)) {
      const owner = parseOwner(await fsp.readFile(file, 'utf8').catch(() => ''));
      if (owner && isAlive(owner)) continue;
    }
    await fsp.rm(file, { force: true, recursive: true });
    report.tempFilesRemoved.push(name);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
    throw err;
  });
}

/**
 * Whether recoverStore would change anything (read-only, no lock): a crash left a lock, temporaries,
 * staging folders, unreferenced trees or a stale current pointer. Lets a no-op stay free of writes.
 */
export async function needsRecovery(store: string, state: StoreState): Promise<boolean> {
  const top = await readdirOrEmpty(store);
  if (top.includes(LOCK_FILE)) {
    // A live holder's staging and temporaries are its own business; a dead holder's are leftovers.
    const holder = await lockHolder(store);
    return holder === undefined || !holder.alive;
  }
  if (top.some((n) => n.startsWith(TEMP_PREFIX))) return true;
  if ((await readdirOrEmpty(path.join(store, STAGING_DIR))).length > 0) return true;
  const wanted = new Set(state.models.flatMap((m) => m.deployments.map((d) => d.dir)));
  const slugs = new Set(state.models.map((m) => modelSlug(m.name)));
  for (const slug of await readdirOrEmpty(path.join(store, DEPLOYMENTS_DIR))) {
    if (!slugs.has(slug)) return true;
    for (const id of await readdirOrEmpty(path.join(store, DEPLOYMENTS_DIR, slug))) if (!wanted.has(`${DEPLOYMENTS_DIR}/${slug}/${id}`)) return true;
  }
  for (const slug of await readdirOrEmpty(path.join(store, MODELS_DIR))) if (!slugs.has(slug)) return true;
  for (const m of state.models) {
    const link = storePath(store, `${MODELS_DIR}/${modelSlug(m.name)}/${CURRENT_LINK}`);
    if ((await fsp.readlink(link).catch(() => undefined)) !== currentLinkTarget(m.name, m.deployments[0]!.bundleId)) return true;
    if ((await readdirOrEmpty(path.dirname(link))).length !== 1) return true;
  }
  return false;
}

/** Take the lock, repair, release: what the daemon runs at start-up (STORE_BUSY if another process holds the store). */
export async function repairStore(store: string): Promise<RecoveryReport> {
  const lock = await acquireStoreLock(store);
  try {
    return await recoverStore(store);
  } finally {
    await lock.release();
  }
}
