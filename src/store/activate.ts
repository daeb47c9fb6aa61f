// Activation: the store's half of an install. Given a manifest whose signatures were judged and a way to stream
// its payload into private staging, make the new tree a deployment with one commit (state.json), or leave the
// store exactly as it was. The bundle reader and the trust decision live above (src/ops/install.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { WalkSink } from '../format/payload.js';
import { AirlockError, toAirlockError, type FailureList } from '../errors.js';
import { manifestTotals, runtimeHints, type Manifest } from '../format/manifest.js';
import { adoptBlob, blobPath, fsyncBlobDirs, hasBlob } from './content.js';
import { namedSignatures } from '../format/signature-names.js';
import { switchCurrent } from './deployments.js';
import { fsyncDir, makeDir, pathExists, removeTree } from './durable.js';
import { contentPresence, missingOmitted, spacePlanFor } from './install-plan.js';
import { DEPLOYMENTS_DIR, deploymentRelDir, storePath } from './layout.js';
import { checkSpace, freeSpace, spaceNeeded } from './space.js';
import { Staging } from './staging.js';
import { readStateBytes, writeState } from './state-file.js';
import { applyInstall, type DeploymentRecord, type StoreState } from './state.js';
import { buildTree } from './tree-builder.js';
import { mapLimited } from '../util/map-limited.js';

const ADOPT_LANES = 16;

export interface LockedOutcome {
  record: DeploymentRecord;
  bytesVerified: number;
  /** of bytesVerified, those the fill took from copies verified earlier */
  bytesPrestaged: number;
  filesVerified: number;
  bytesWritten: number;
  evicted: string[];
  warnings: string[];
}

/** A verified manifest to activate: the payload comes from `fill`, which streams it into the staging sink. */
export interface ActivationInput {
  manifest: Manifest;
  digest: string;
  manifestBytes: Buffer;
  /** the bundle's signature files as they arrived: kept as content (publish --deployment sends them on) */
  signatures?: ReadonlyArray<{ name: string; bytes: Buffer }>;
  /** images the source does not carry as archives (a registry): archive path → the reference the runtime pulls */
  imagePulls?: Readonly<Record<string, string>>;
}

export interface ActivationOptions {
  retention: number;
  /** the install's time: recorded as installedAt and as the state's update time */
  now: Date;
  signal?: AbortSignal;
  onActivating?: () => void;
  /** content already copied into the store's file system (verified while arriving): linking it in needs no new blocks */
  onDisk?: (sha256: string) => boolean;
}

/** What filling staging gave: failures (the first ends the install) and the bytes verified. */
export interface FillResult {
  failures: FailureList;
  bytesVerified: number;
  bytesPrestaged?: number;
  /** files (image archives included) whose bytes were hashed and matched */
  filesVerified: number;
}

/**
 * Under the store's lock: check space and delta content, stage the payload through `fill` (one pass: each byte
 * read, hashed and written by the caller's walk into the staging sink), then build the tree, adopt the blobs and
 * commit state.json. Anything before the commit is undone on failure; the store is then as it was.
 */
export async function activateBundle(
  store: string,
  state: StoreState,
  bundle: ActivationInput,
  opts: ActivationOptions,
  fill: (sink: WalkSink) => Promise<FillResult>,
): Promise<LockedOutcome> {
  const m = bundle.manifest;
  const pulled = new Set(Object.keys(bundle.imagePulls ?? {}));
  const presence = await contentPresence(store, m, bundle.digest, bundle.manifestBytes.length, pulled);
  // Delta bundles: every omitted file must already be verified content here; named before any payload is read.
  const missing = missingOmitted(m, presence);
  if (missing.length > 0)
    throw AirlockError.fromFailures(
      missing,
      `${missing.length} file(s) the delta bundle leaves out are not in this store: ${missing
        .slice(0, 3)
        .map((f) => f.path)
        .join(', ')}`,
    );
  const onDisk = opts.onDisk;
  const needed = onDisk ? new Map([...presence].map(([sha, present]) => [sha, present || onDisk(sha)])) : presence;
  const plan = spacePlanFor(
    m,
    needed,
    (await readStateBytes(store))?.length ?? 0,
    { digest: bundle.digest, size: bundle.manifestBytes.length },
    pulled,
  );
  const signatures = namedSignatures(bundle.signatures ?? []).map((n) => ({ ...n, size: n.bytes.length }));
  for (const sig of signatures) if (!(await hasBlob(store, sig.sha256, sig.size))) plan.newBlobs.push(sig.size);
  const free = await freeSpace(store);
  checkSpace(spaceNeeded(plan, free.blockSize), free, store);

  const staging = await Staging.create(store, (sha) => presence.get(sha) === true, opts.signal);
  const undo: Array<() => Promise<void>> = [];
  try {
    await staging.stageBytes(bundle.digest, bundle.manifestBytes);
    for (const sig of signatures) await staging.stageBytes(sig.sha256, sig.bytes);
    const walk = await fill(staging.sink());
    if (!walk.failures.empty) throw walk.failures.toError(`bundle ${m.id} rejected: ${walk.failures.items[0]!.message}`);
    await staging.flush();
    opts.onActivating?.();
    const tree = await buildTree(staging.treeDir, m, (sha) => staging.staged.get(sha)?.file ?? blobPath(store, sha), opts.signal);
    opts.signal?.throwIfAborted();

    let bytesWritten = 0;
    // Renames into content, several at once (each waits on the file system; a bundle can hold thousands).
    await mapLimited([...staging.staged], ADOPT_LANES, async ([sha, blob]) => {
      const u = await adoptBlob(store, blob.file, sha, blob.size);
      if (u) {
        undo.push(u);
        bytesWritten += blob.size;
      }
    });
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
      installedAt: opts.now.toISOString(),
      hints: runtimeHints(m),
      images: m.images.map((i) => {
        const pull = bundle.imagePulls?.[i.archive];
        return { ref: i.ref, id: i.id, sha256: i.sha256, size: i.size, ...(pull === undefined ? {} : { pull }) };
      }),
      ...(signatures.length ? { signatures: signatures.map(({ name, sha256, size }) => ({ name, sha256, size })) } : {}),
      files: tree.files,
      symlinks: tree.symlinks,
      bytes: totals.payloadBytes,
      linkMode: tree.fallbackCopies > 0 ? 'copy' : 'hardlink',
    };
    const { state: next, evicted } = applyInstall(state, record, opts.retention, opts.now);
    opts.signal?.throwIfAborted();
    const warnings = await commit(store, next);
    undo.length = 0;

    // After the commit nothing can fail the install; what goes wrong now the next run's recovery finishes.
    if (tree.fallbackCopies > 0)
      warnings.push(`the file system refused hard links: ${tree.fallbackCopies} file(s) were copied out of content instead of linked`);
    await switchCurrent(store, m.name, m.id).catch((err: Error) =>
      warnings.push(`current pointer not switched (repaired on the next run): ${err.message}`),
    );
    for (const old of evicted) {
      await evict(store, staging.dir, old).catch((err: Error) =>
        warnings.push(`could not remove evicted ${old.dir} (removed on the next run): ${err.message}`),
      );
    }
    return {
      record,
      bytesVerified: walk.bytesVerified,
      bytesPrestaged: walk.bytesPrestaged ?? 0,
      filesVerified: walk.filesVerified,
      bytesWritten,
      evicted: evicted.map((e) => e.bundleId),
      warnings,
    };
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw installError(err, opts.signal);
  } finally {
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
    return new AirlockError(
      'INSUFFICIENT_SPACE',
      `the store's file system filled up during the install (${(err as Error).message}); the store is unchanged`,
      { cause: err },
    );
  }
  return toAirlockError(err);
}
