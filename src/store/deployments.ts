// What is installed, per model, and the operator's rollback to a kept version.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BundleKind, RuntimeHints } from '../format/manifest.js';
import { blobPath } from './content.js';
import { replaceSymlink } from './durable.js';
import { currentLinkRelPath, currentLinkTarget, STATE_FILE, storePath } from './layout.js';
import { acquireStoreLock } from './lock.js';
import { recoverStore } from './recover.js';
import { readState, writeState } from './state-file.js';
import { applyRollback, type DeploymentRecord } from './state.js';
import { assertStoreShape } from './store-dir.js';

export interface ImageArchive {
  ref: string;
  /** the image id (`sha256:…`) the loaded image must have */
  id: string;
  /** absolute path of the verified `docker save` archive in the store's content */
  path: string;
  sha256: string;
  size: number;
}

export interface DeploymentInfo {
  bundleId: string;
  name: string;
  channel: string;
  sequence: number;
  manifestDigest: string;
  kind: BundleKind;
  /** absolute path of the deployment's tree: what a container mounts as its NIM cache or model store */
  path: string;
  /** absolute path of the manifest this deployment was installed from (kept as content) */
  manifestPath: string;
  installedAt: string;
  imageRefs: string[];
  imageArchives: ImageArchive[];
  /** what the manifest tells the runtime: profiles, served name, model path */
  hints: RuntimeHints;
  current: boolean;
  files: number;
  symlinks: number;
  bytes: number;
  linkMode: 'hardlink' | 'copy';
}

export interface ModelDeployments {
  name: string;
  current?: DeploymentInfo;
  /** earlier deployments kept for rollback (the current one excluded), most recently active first */
  kept: DeploymentInfo[];
}

export function toDeploymentInfo(store: string, d: DeploymentRecord, current: boolean): DeploymentInfo {
  return {
    bundleId: d.bundleId,
    name: d.name,
    channel: d.channel,
    sequence: d.sequence,
    manifestDigest: d.manifestDigest,
    kind: d.kind,
    path: storePath(store, d.dir),
    manifestPath: blobPath(store, d.manifestDigest),
    installedAt: d.installedAt,
    imageRefs: d.images.map((i) => i.ref),
    imageArchives: d.images.map((i) => ({ ref: i.ref, id: i.id, path: blobPath(store, i.sha256), sha256: i.sha256, size: i.size })),
    hints: d.hints,
    current,
    files: d.files,
    symlinks: d.symlinks,
    bytes: d.bytes,
    linkMode: d.linkMode,
  };
}

/** Every model in the store with its current and kept deployments, from the committed state (no lock needed). */
export async function listDeployments(store: string): Promise<ModelDeployments[]> {
  const abs = path.resolve(store);
  const state = await readState(abs);
  return state.models.map((m) => {
    const [first, ...rest] = m.deployments;
    return {
      name: m.name,
      ...(first ? { current: toDeploymentInfo(abs, first, true) } : {}),
      kept: rest.map((d) => toDeploymentInfo(abs, d, false)),
    };
  });
}

/** listDeployments for a reader that asks often (the daemon's status API, several times a second under load):
 *  state.json is read, validated and parsed again only when it changed (every commit renames a new file into
 *  place, so its inode, size or times change). The lists returned are shared: callers must not modify them. */
export function deploymentLister(store: string): () => Promise<ModelDeployments[]> {
  const file = storePath(path.resolve(store), STATE_FILE);
  let key: string | undefined;
  let cached: Promise<ModelDeployments[]> | undefined;
  return async () => {
    const st = await fsp.lstat(file, { bigint: true }).catch(() => undefined);
    const k = st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'none';
    if (k !== key || !cached) {
      key = k;
      cached = listDeployments(store);
      // A failed read is not kept: the next call tries again.
      cached.catch(() => {
        if (key === k) key = undefined;
      });
    }
    return cached;
  };
}

/** Make a kept deployment of `name` current again (`to`: bundle id or manifest digest; default: the previous one). */
export async function rollback(store: string, name: string, to?: string, now: Date = new Date()): Promise<DeploymentInfo> {
  const abs = path.resolve(store);
  await assertStoreShape(abs, true);
  const lock = await acquireStoreLock(abs);
  try {
    await recoverStore(abs);
    const state = await readState(abs);
    const { state: next, target } = applyRollback(state, name, to, now);
    if (target !== state.models.find((m) => m.name === name)?.deployments[0]) {
      await writeState(abs, next);
      await switchCurrent(abs, name, target.bundleId);
    }
    return toDeploymentInfo(abs, target, true);
  } finally {
    await lock.release();
  }
}

/** Point models/<slug>/current at a deployment (atomic rename of a new symlink). */
export async function switchCurrent(store: string, name: string, bundleId: string): Promise<void> {
  const link = storePath(store, currentLinkRelPath(name));
  await fsp.mkdir(path.dirname(link), { recursive: true, mode: 0o755 });
  await replaceSymlink(link, currentLinkTarget(name, bundleId));
}
