// `install`: signatures and rollback protection from the manifest first; then one pass that reads each
// payload byte once, hashes it and writes it into private staging; then one commit (state.json) that
// makes the new tree current. A rejected, failed or aborted install leaves the store as it was.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import { walkPayload } from '../bundle/payload-walk.js';
import type { BundleSource, OpenedBundle, ReadLimits } from '../bundle/source.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError, toAirlockError } from '../errors.js';
import { manifestTotals } from '../format/manifest.js';
import { HashPool } from '../hash/hash-pool.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import type { TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { adoptBlob, blobPath, fsyncBlobDirs } from './content.js';
import { switchCurrent, toDeploymentInfo, type DeploymentInfo } from './deployments.js';
import { fsyncDir, makeDir, pathExists, removeTree } from './durable.js';
import { contentPresence, missingOmitted, spacePlanFor } from './install-plan.js';
import { DEPLOYMENTS_DIR, deploymentRelDir, storePath } from './layout.js';
import { acquireStoreLock } from './lock.js';
import { needsRecovery, recoverStore } from './recover.js';
import { checkSpace, freeSpace, spaceNeeded } from './space.js';
import { Staging } from './staging.js';
import { readState, readStateBytes, writeState } from './state-file.js';
import { applyInstall, decideInstall, findModel, type BundleFacts, type DeploymentRecord, type StoreState } from './state.js';
import { assertStoreShape, prepareStore } from './store-dir.js';
import { buildTree } from './tree-builder.js';

/** Earlier deployments kept per model besides the current one. */
export const DEFAULT_RETENTION = 2;

export interface InstallOptions {
  store: string;
  allowedSigners: AllowedSigner[];
  /** signatures by these keys never count (KEY_REVOKED) */
  revokedKeys?: RevokedKeys;
  threshold: number;
  allowDowngrade?: boolean;
  now?: Date;
  onProgress?: (p: InstallProgress) => void;
  signal?: AbortSignal;
  /** earlier deployments kept per model besides the current one (default DEFAULT_RETENTION) */
  retention?: number;
  limits?: ReadLimits;
}

export interface InstallProgress {
  phase: 'signatures' | 'payload' | 'activating';
  bytesDone: number;
  bytesTotal: number;
  file?: string;
}

export interface InstallResult {
  status: 'installed' | 'already-installed';
  bundleId: string;
  name: string;
  channel: string;
  sequence: number;
  manifestDigest: string;
  /** absolute deployment directory */
  path: string;
  trust: TrustReport;
  bytesVerified: number;
  durationMs: number;
  deployment: DeploymentInfo;
  /** bytes of content the store did not hold before (0 when already installed) */
  bytesWritten: number;
  /** bundle ids of earlier deployments dropped by retention */
  evicted: string[];
  /** things that went wrong after the commit, and hard-link fallbacks; the install itself stands */
  warnings: string[];
}

export async function installBundle(input: string | BundleSource, opts: InstallOptions): Promise<InstallResult> {
  const source = typeof input === 'string' ? fileSystemSource(input) : input;
  const header = await source.open(opts.limits);
  try {
    const emit = opts.onProgress ?? (() => undefined);
    emit({ phase: 'signatures', bytesDone: 0, bytesTotal: 0 });
    // Signatures before the manifest is even parsed, then expiry: all before any payload byte (and before the store is touched).
    const now = opts.now ?? new Date();
    const trust = evaluateTrust(header, { allowedSigners: opts.allowedSigners, threshold: opts.threshold, now, ...(opts.revokedKeys ? { revokedKeys: opts.revokedKeys } : {}) });
    return await installTrusted(passGates(header, trust, now), trust, opts, emit);
  } finally {
    await header.close();
  }
}

async function installTrusted(bundle: OpenedBundle, trust: TrustReport, opts: InstallOptions, emit: (p: InstallProgress) => void): Promise<InstallResult> {
  const started = Date.now();
  const store = path.resolve(opts.store);
  const totals = manifestTotals(bundle.manifest);

  // Rollback protection from the committed state, before the lock: a replay or downgrade writes nothing at all.
  await assertStoreShape(store, false);
  const facts = factsOf(bundle);
  const committed = await readState(store);
  const early = decide(committed, facts, opts.allowDowngrade ?? false);
  const done = (kept: Kept, extra: Partial<InstallResult> = {}): InstallResult => ({
    status: 'already-installed',
    ...facts,
    path: storePath(store, kept.record.dir),
    trust,
    bytesVerified: 0,
    durationMs: Date.now() - started,
    deployment: toDeploymentInfo(store, kept.record, kept.current),
    bytesWritten: 0,
    evicted: [],
    warnings: [],
    ...extra,
  });
  // A no-op writes nothing, unless a crash left something for recovery to finish (a stale pointer, say).
  if (early && !(await needsRecovery(store, committed))) return done(early);

  await prepareStore(store);
  const lock = await acquireStoreLock(store);
  try {
    await recoverStore(store);
    const state = await readState(store);
    const again = decide(state, facts, opts.allowDowngrade ?? false);
    if (again) return done(again);
    const out = await installLocked(bundle, store, state, opts, (bytesDone) => emit({ phase: 'payload', bytesDone, bytesTotal: totals.carriedBytes }), () =>
      emit({ phase: 'activating', bytesDone: totals.carriedBytes, bytesTotal: totals.carriedBytes }),
    );
    return done({ record: out.record, current: true }, {
      status: 'installed',
      bytesVerified: out.bytesVerified,
      bytesWritten: out.bytesWritten,
      evicted: out.evicted,
      warnings: out.warnings,
    });
  } finally {
    await lock.release();
  }
}

function factsOf(bundle: OpenedBundle): BundleFacts {
  const m = bundle.manifest;
  return { bundleId: m.id, name: m.name, channel: m.channel, sequence: m.sequence, manifestDigest: bundle.digest };
}

interface Kept {
  record: DeploymentRecord;
  current: boolean;
}

/** The kept record when the very same bundle is already installed; throws ROLLBACK / SEQUENCE_CONFLICT. */
function decide(state: StoreState, facts: BundleFacts, allowDowngrade: boolean): Kept | undefined {
  const d = decideInstall(state, facts, allowDowngrade);
  if (d.action === 'reject') throw new AirlockError(d.failure.code, d.failure.message, { path: facts.name });
  if (d.action !== 'already-installed') return undefined;
  return { record: d.record, current: findModel(state, facts.name)?.deployments[0] === d.record };
}

interface LockedOutcome {
  record: DeploymentRecord;
  bytesVerified: number;
  bytesWritten: number;
  evicted: string[];
  warnings: string[];
}

async function installLocked(
  bundle: OpenedBundle,
  store: string,
  state: StoreState,
  opts: InstallOptions,
  onPayloadBytes: (done: number) => void,
  onActivating: () => void,
): Promise<LockedOutcome> {
  const m = bundle.manifest;
  const presence = await contentPresence(store, m, bundle.digest, bundle.manifestBytes.length);
  // Delta bundles: every omitted file must already be verified content here; named before any payload is read.
  const missing = missingOmitted(m, presence);
  if (missing.length > 0) throw AirlockError.fromFailures(missing, `${missing.length} file(s) the delta bundle leaves out are not in this store: ${missing.slice(0, 3).map((f) => f.path).join(', ')}`);
  const plan = spacePlanFor(m, presence, (await readStateBytes(store))?.length ?? 0, { digest: bundle.digest, size: bundle.manifestBytes.length });
  const free = await freeSpace(store);
  checkSpace(spaceNeeded(plan, free.blockSize), free, store);

  const staging = await Staging.create(store, (sha) => presence.get(sha) === true, opts.signal);
  const pool = bundle.form === 'split' ? undefined : new HashPool();
  const undo: Array<() => Promise<void>> = [];
  let done = 0;
  // An abort stops the workers mid-file, so a multi-GB shard does not hold up a daemon's shutdown.
  const stopPool = () => void pool?.close();
  opts.signal?.addEventListener('abort', stopPool, { once: true });
  try {
    await staging.stageBytes(bundle.digest, bundle.manifestBytes);
    const walk = await walkPayload(bundle, {
      ...(pool ? { pool } : {}),
      sink: staging.sink(),
      failFast: true,
      onBytes: (n) => onPayloadBytes((done += n)),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!walk.failures.empty) throw walk.failures.toError(`bundle ${m.id} rejected: ${walk.failures.items[0]!.message}`);
    await staging.flush();
    onActivating();
    const tree = await buildTree(staging.treeDir, m, (sha) => staging.staged.get(sha)?.file ?? blobPath(store, sha), opts.signal);
    opts.signal?.throwIfAborted();

    let bytesWritten = 0;
    for (const [sha, blob] of staging.staged) {
      const u = await adoptBlob(store, blob.file, sha, blob.size);
      if (u) {
        undo.push(u);
        bytesWritten += blob.size;
      }
    }
    await fsyncBlobDirs(store, staging.staged.keys());

    const rel = deploymentRelDir(m.name, m.id);
    const dest = storePath(store, rel);
    const modelDir = path.dirname(dest);
    if (await makeDir(modelDir)) undo.push(() => fsp.rmdir(modelDir));
    if (await pathExists(dest)) throw new AirlockError('STORE_INVALID', `${dest} exists but the store state does not reference it`, { path: dest });
    await fsp.rename(staging.treeDir, dest);
    undo.push(() => removeTree(dest));
    await fsyncDir(modelDir);
    await fsyncDir(storePath(store, DEPLOYMENTS_DIR));

    const totals = manifestTotals(m);
    const record: DeploymentRecord = {
      bundleId: m.id,
      name: m.name,
      channel: m.channel,
      sequence: m.sequence,
      manifestDigest: bundle.digest,
      kind: m.kind,
      dir: rel,
      installedAt: new Date().toISOString(),
      profiles: m.profiles,
      images: m.images.map((i) => ({ ref: i.ref, id: i.id, sha256: i.sha256, size: i.size })),
      ...(m.servedModelName !== undefined ? { servedModelName: m.servedModelName } : {}),
      ...(m.modelPath !== undefined ? { modelPath: m.modelPath } : {}),
      files: tree.files,
      symlinks: tree.symlinks,
      bytes: totals.payloadBytes,
      linkMode: tree.fallbackCopies > 0 ? 'copy' : 'hardlink',
    };
    const { state: next, evicted } = applyInstall(state, record, opts.retention ?? DEFAULT_RETENTION, new Date());
    opts.signal?.throwIfAborted();
    const warnings = await commit(store, next);
    undo.length = 0;

    // After the commit nothing can fail the install; what goes wrong now the next run's recovery finishes.
    if (tree.fallbackCopies > 0) warnings.push(`the file system refused hard links: ${tree.fallbackCopies} file(s) were copied out of content instead of linked`);
    await switchCurrent(store, m.name, m.id).catch((err: Error) => warnings.push(`current pointer not switched (repaired on the next run): ${err.message}`));
    for (const old of evicted) {
      await evict(store, staging.dir, old).catch((err: Error) => warnings.push(`could not remove evicted ${old.dir} (removed on the next run): ${err.message}`));
    }
    return { record, bytesVerified: walk.bytesVerified, bytesWritten, evicted: evicted.map((e) => e.bundleId), warnings };
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw installError(err, opts.signal);
  } finally {
    opts.signal?.removeEventListener('abort', stopPool);
    await pool?.close();
    await staging.dispose();
  }
}

/** Write the new state; throws only when the commit did not happen (the state file still holds the old bytes). */
async function commit(store: string, next: StoreState): Promise<string[]> {
  try {
    await writeState(store, next);
    return [];
  } catch (err) {
    const onDisk = await readStateBytes(store).catch(() => undefined);
    if (onDisk?.equals(Buffer.from(JSON.stringify(next, null, 2) + '\n'))) return [`state committed, but: ${(err as Error).message}`];
    throw err;
  }
}

// Moved into staging in one rename, so a half-removed tree is never visible under deployments/.
async function evict(store: string, stagingDir: string, old: DeploymentRecord): Promise<void> {
  const aside = path.join(stagingDir, `evicted-${old.bundleId}`);
  await fsp.rename(storePath(store, old.dir), aside);
  await fsyncDir(path.dirname(storePath(store, old.dir)));
  await removeTree(aside);
}

function installError(err: unknown, signal: AbortSignal | undefined): AirlockError {
  if (signal?.aborted) return new AirlockError('ABORTED', 'install aborted; the store is unchanged', { cause: err });
  const code = (err as NodeJS.ErrnoException)?.code;
  if (!(err instanceof AirlockError) && (code === 'ENOSPC' || code === 'EDQUOT')) {
    return new AirlockError('INSUFFICIENT_SPACE', `the store's file system filled up during the install (${(err as Error).message}); the store is unchanged`, { cause: err });
  }
  return toAirlockError(err);
}
