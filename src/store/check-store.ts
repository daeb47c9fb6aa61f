// A store consistency check (tests after kill -9, and `doctor`): the committed state, every tree it
// references against its manifest, the current pointers, and content. Reports; never repairs.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import type { Failure } from '../errors.js';
import { isSymlink, type Manifest } from '../format/manifest.js';
import { impliedFolders } from '../format/path-tree.js';
import { runFileJob } from '../hash/file-job.js';
import { BLOB_MODE, blobPath, listBlobs } from './content.js';
import { readKeptManifest } from './kept-manifest.js';
import { currentLinkRelPath, currentLinkTarget, DEPLOYMENTS_DIR, deploymentRelDir, MODELS_DIR, modelSlug, storePath } from './layout.js';
import { readState } from './state-file.js';
import { findSequence, type DeploymentRecord, type StoreState } from './state.js';
import { assertStoreShape } from './store-dir.js';

export interface CheckOptions {
  /** also re-hash every tree file and every content blob (reads the whole store) */
  deep?: boolean;
}

/** Every inconsistency found (code STORE_INVALID, `path` store-relative); empty when the store is sound. */
export async function checkStore(store: string, opts: CheckOptions = {}): Promise<Failure[]> {
  const abs = path.resolve(store);
  const failures: Failure[] = [];
  const fail = (p: string, message: string) => failures.push({ code: 'STORE_INVALID', path: p, message: `${p}: ${message}` });
  let state: StoreState;
  try {
    await assertStoreShape(abs, true);
    state = await readState(abs);
  } catch (err) {
    fail('state.json', (err as Error).message);
    return failures;
  }
  for (const m of state.models) {
    for (const d of m.deployments) await checkDeployment(abs, state, d, opts, fail);
    const link = currentLinkRelPath(m.name);
    const target = await fsp.readlink(storePath(abs, link)).catch(() => undefined);
    const want = currentLinkTarget(m.name, m.deployments[0]!.bundleId);
    if (target !== want) fail(link, `points to ${target ?? '(nothing)'}, the state says ${want}`);
  }
  await checkUnreferenced(abs, state, fail);
  await checkContent(abs, opts, fail);
  return failures;
}

type Fail = (p: string, message: string) => void;

async function checkDeployment(store: string, state: StoreState, d: DeploymentRecord, opts: CheckOptions, fail: Fail): Promise<void> {
  if (d.dir !== deploymentRelDir(d.name, d.bundleId)) fail(d.dir, `is not where deployment ${d.bundleId} of ${d.name} belongs`);
  const highest = findSequence(state, d.name, d.channel);
  if (!highest || highest.sequence < d.sequence)
    fail('state.json', `highest sequence of ${d.name} channel ${d.channel} is below installed ${d.sequence}`);
  let m: Manifest;
  try {
    m = await readKeptManifest(store, d);
  } catch (err) {
    fail(d.dir, (err as Error).message);
    return;
  }
  if (m.id !== d.bundleId || m.name !== d.name || m.channel !== d.channel || m.sequence !== d.sequence || m.kind !== d.kind) {
    fail(d.dir, `the state's record differs from manifest ${d.manifestDigest}`);
  }
  for (const [i, img] of m.images.entries()) {
    if (d.images[i]?.pull !== undefined) continue; // pulled from a registry by digest: no archive kept
    const st = await fsp.lstat(blobPath(store, img.sha256)).catch(() => undefined);
    if (!st?.isFile() || st.size !== img.size)
      fail(path.relative(store, blobPath(store, img.sha256)), `image archive ${img.archive} of ${d.bundleId} is missing or has the wrong size`);
  }
  for (const sig of d.signatures ?? []) {
    const st = await fsp.lstat(blobPath(store, sig.sha256)).catch(() => undefined);
    if (!st?.isFile() || st.size !== sig.size)
      fail(path.relative(store, blobPath(store, sig.sha256)), `signature ${sig.name} of ${d.bundleId} is missing or has the wrong size`);
  }
  await checkTree(storePath(store, d.dir), d.dir, m, opts, fail);
}

/** The tree holds exactly the manifest's entries with their types, sizes, modes and link targets. */
async function checkTree(root: string, rel: string, m: Manifest, opts: CheckOptions, fail: Fail): Promise<void> {
  const rootSt = await fsp.lstat(root).catch(() => undefined);
  if (!rootSt?.isDirectory()) {
    fail(rel, 'the deployment tree is missing');
    return;
  }
  const dirs = impliedFolders(m.files.map((e) => e.path));
  const expected = new Set<string>([...m.files.map((e) => e.path), ...dirs]);
  for await (const [p] of walkTree(root, '')) {
    if (!expected.has(p)) fail(`${rel}/${p}`, 'is not in the manifest');
  }
  for (const dir of ['', ...dirs]) {
    const st = await fsp.lstat(path.join(root, dir)).catch(() => undefined);
    if (!st?.isDirectory() || (st.mode & 0o777) !== 0o755) fail(`${rel}/${dir}`, 'should be a folder with mode 0755');
  }
  for (const e of m.files) {
    const file = path.join(root, ...e.path.split('/'));
    const where = `${rel}/${e.path}`;
    const st = await fsp.lstat(file).catch(() => undefined);
    if (isSymlink(e)) {
      const target = st?.isSymbolicLink() ? await fsp.readlink(file) : undefined;
      if (target !== e.target) fail(where, `should be a symlink to ${e.target}`);
      continue;
    }
    const mode = e.mode === '0755' ? 0o555 : BLOB_MODE;
    if (!st?.isFile() || st.size !== e.size || (st.mode & 0o777) !== mode) {
      fail(where, `should be a ${e.size}-byte file with mode ${mode.toString(8)}`);
      continue;
    }
    if (opts.deep && (await runFileJob({ file, limit: e.size })).sha256 !== e.sha256) fail(where, 'does not hash to its manifest sha256');
  }
}

async function* walkTree(root: string, rel: string): AsyncGenerator<[string, Stats]> {
  for (const name of await fsp.readdir(path.join(root, rel))) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = await fsp.lstat(path.join(root, p));
    yield [p, st];
    if (st.isDirectory()) yield* walkTree(root, p);
  }
}

/** Trees and pointers the state does not know are crash leftovers the next run's recovery removes. */
async function checkUnreferenced(store: string, state: StoreState, fail: Fail): Promise<void> {
  const dirs = new Set(state.models.flatMap((m) => m.deployments.map((d) => d.dir)));
  const slugs = new Set(state.models.map((m) => modelSlug(m.name)));
  for (const slug of await readdirOrEmpty(path.join(store, DEPLOYMENTS_DIR))) {
    for (const id of await readdirOrEmpty(path.join(store, DEPLOYMENTS_DIR, slug))) {
      const rel = `${DEPLOYMENTS_DIR}/${slug}/${id}`;
      if (!dirs.has(rel)) fail(rel, 'is not referenced by the committed state');
    }
  }
  for (const slug of await readdirOrEmpty(path.join(store, MODELS_DIR))) {
    if (!slugs.has(slug)) fail(`${MODELS_DIR}/${slug}`, 'names a model the committed state does not hold');
    for (const name of await readdirOrEmpty(path.join(store, MODELS_DIR, slug))) {
      if (name !== 'current') fail(`${MODELS_DIR}/${slug}/${name}`, 'is not a current pointer');
    }
  }
}

async function checkContent(store: string, opts: CheckOptions, fail: Fail): Promise<void> {
  for await (const b of listBlobs(store)) {
    const rel = path.relative(store, b.file);
    if (b.problem !== undefined) {
      fail(rel, b.problem);
      continue;
    }
    const st = await fsp.lstat(b.file);
    if ((st.mode & 0o777) !== BLOB_MODE) fail(rel, `has mode ${(st.mode & 0o777).toString(8)}, content is 0444`);
    if (opts.deep && (await runFileJob({ file: b.file, limit: b.size })).sha256 !== b.sha256) fail(rel, 'does not hash to its name');
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch(() => [] as string[]);
}
