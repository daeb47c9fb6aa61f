// Install a bundle, written once for the CLI (`airlock install`), the daemon and its install worker: signatures
// over the exact manifest bytes first (the manifest is not parsed until they hold), then the manifest, expiry and
// rollback protection, all before any payload byte and before the store is touched; then, under the store's
// lock, one pass that reads each payload byte once, hashes it and writes it into private staging, and one commit
// (src/store/activate.ts). A rejected, failed or aborted install leaves the store as it was.
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import { walkPayload, type WalkSink } from '../bundle/payload-walk.js';
import { fillFromPrestaged, prestagedComplete, type PrestagedPayload } from '../bundle/prestaged.js';
import { hashesInPool, type BundleSource, type OpenedBundle, type ReadLimits } from '../bundle/source.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError } from '../errors.js';
import { manifestTotals } from '../format/manifest.js';
import type { Prestaged } from '../format/payload.js';
import { HashPool } from '../hash/hash-pool.js';
import { activateBundle } from '../store/activate.js';
import { toDeploymentInfo, type DeploymentInfo } from '../store/deployments.js';
import { storePath } from '../store/layout.js';
import { acquireStoreLock } from '../store/lock.js';
import { needsRecovery, recoverStore } from '../store/recover.js';
import { readState } from '../store/state-file.js';
import { decideInstall, findModel, type BundleFacts, type DeploymentRecord, type StoreState } from '../store/state.js';
import { assertStoreShape, prepareStore } from '../store/store-dir.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import type { TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';

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
  /**
   * Copies verified while a folder bundle arrived (the daemon's staged spool), for the manifest with this digest:
   * each entry still the very file a copy was made from is taken from there instead of being read again.
   */
  prestaged?: (manifestDigest: string) => Promise<Prestaged | undefined>;
  /** a split bundle's payload already unpacked and verified in the daemon's parts spool: linked, not read again */
  unpacked?: PrestagedPayload;
  /** what a ROLLBACK refusal tells its reader to do instead (default: the CLI's --allow-downgrade) */
  downgradeHint?: string;
}

export const CLI_DOWNGRADE_HINT = 'use --allow-downgrade to install it anyway';

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
  /** files (image archives included) hashed in this install (0 when already installed) */
  filesVerified: number;
  durationMs: number;
  deployment: DeploymentInfo;
  /** of bytesVerified, those taken from copies verified while the bundle arrived (only with `prestaged`) */
  bytesPrestaged?: number;
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
    const trust = evaluateTrust(header, {
      allowedSigners: opts.allowedSigners,
      threshold: opts.threshold,
      now,
      ...(opts.revokedKeys ? { revokedKeys: opts.revokedKeys } : {}),
    });
    return await installTrusted(passGates(header, trust, now), trust, { ...opts, now }, emit);
  } finally {
    await header.close();
  }
}

async function installTrusted(
  bundle: OpenedBundle,
  trust: TrustReport,
  opts: InstallOptions & { now: Date },
  emit: (p: InstallProgress) => void,
): Promise<InstallResult> {
  const started = Date.now();
  const store = path.resolve(opts.store);
  const totals = manifestTotals(bundle.manifest);
  // Images a registry source has the runtime pull are not read here.
  for (const img of bundle.manifest.images) if (bundle.imagePulls?.[img.archive] !== undefined) totals.carriedBytes -= img.size;

  // Rollback protection from the committed state, before the lock: a replay or downgrade writes nothing at all.
  await assertStoreShape(store, false);
  const facts = factsOf(bundle);
  const committed = await readState(store);
  const early = decide(committed, facts, opts);
  const done = (kept: Kept, extra: Partial<InstallResult> = {}): InstallResult => ({
    status: 'already-installed',
    ...facts,
    path: storePath(store, kept.record.dir),
    trust,
    bytesVerified: 0,
    filesVerified: 0,
    durationMs: Date.now() - started,
    deployment: toDeploymentInfo(store, kept.record, kept.current),
    bytesWritten: 0,
    evicted: [],
    warnings: [],
    ...extra,
  });
  // A no-op writes nothing, unless a crash left something for recovery to finish (a stale pointer, say).
  if (early && !(await needsRecovery(store, committed))) return done(early);

  // Blobs verified against this very manifest while its parts arrived are taken as they are; otherwise one pass reads them.
  const unpacked =
    opts.unpacked?.manifestDigest === bundle.digest && (await prestagedComplete(bundle.manifest, opts.unpacked)) ? opts.unpacked : undefined;
  const onPayloadBytes = (bytesDone: number) => emit({ phase: 'payload', bytesDone, bytesTotal: totals.carriedBytes });
  await prepareStore(store);
  const lock = await acquireStoreLock(store);
  try {
    await recoverStore(store);
    const state = await readState(store);
    const again = decide(state, facts, opts);
    if (again) return done(again);
    const prestaged = unpacked ? undefined : await opts.prestaged?.(bundle.digest);
    const out = await activateBundle(
      store,
      state,
      bundle,
      {
        retention: opts.retention ?? DEFAULT_RETENTION,
        now: opts.now,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onActivating: () => emit({ phase: 'activating', bytesDone: totals.carriedBytes, bytesTotal: totals.carriedBytes }),
        ...(prestaged ? { onDisk: (sha: string) => prestaged.holds(sha) } : {}),
      },
      (sink) =>
        unpacked
          ? fillFromPrestaged(bundle.manifest, unpacked, sink, onPayloadBytes, opts.signal)
          : fillStaging(bundle, sink, opts.signal, prestaged, onPayloadBytes),
    );
    return done(
      { record: out.record, current: true },
      {
        status: 'installed',
        bytesVerified: out.bytesVerified,
        ...(prestaged ? { bytesPrestaged: out.bytesPrestaged } : {}),
        filesVerified: out.filesVerified,
        bytesWritten: out.bytesWritten,
        evicted: out.evicted,
        warnings: out.warnings,
      },
    );
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
function decide(state: StoreState, facts: BundleFacts, opts: InstallOptions): Kept | undefined {
  const d = decideInstall(state, facts, opts.allowDowngrade ?? false);
  if (d.action === 'reject') {
    const hint = d.failure.code === 'ROLLBACK' ? `; ${opts.downgradeHint ?? CLI_DOWNGRADE_HINT}` : '';
    throw new AirlockError(d.failure.code, d.failure.message + hint, { path: facts.name });
  }
  if (d.action !== 'already-installed') return undefined;
  return { record: d.record, current: findModel(state, facts.name)?.deployments[0] === d.record };
}

/** The one pass: every payload byte read once, hashed (on worker threads unless the bundle streams) and staged. */
async function fillStaging(
  bundle: OpenedBundle,
  sink: WalkSink,
  signal: AbortSignal | undefined,
  prestaged: Prestaged | undefined,
  onPayloadBytes: (done: number) => void,
) {
  const pool = hashesInPool(bundle.form) ? new HashPool() : undefined;
  // An abort stops the workers mid-file, so a multi-GB shard does not hold up a daemon's shutdown.
  const stopPool = () => void pool?.close();
  signal?.addEventListener('abort', stopPool, { once: true });
  let done = 0;
  try {
    return await walkPayload(bundle, {
      ...(pool ? { pool } : {}),
      sink,
      failFast: true,
      onBytes: (n) => onPayloadBytes((done += n)),
      ...(signal ? { signal } : {}),
      ...(prestaged ? { prestaged } : {}),
    });
  } finally {
    signal?.removeEventListener('abort', stopPool);
    await pool?.close();
  }
}
