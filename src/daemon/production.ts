// The real dependencies of `airlock daemon`: the worker installer over the install use case (src/ops/install.ts)
// and the store's deployments, both behind the one store queue; the container runtime when configured; the
// status page when the build has one.
import { realpath } from 'node:fs/promises';
import type { ApiExtension } from '../api/context.js';
import type { LoadedConfig } from '../config/load-config.js';
import { WorkerInstaller } from '../pipeline/worker-installer.js';
import { ProbeWorker } from '../watcher/probe-pool.js';
import type { DeploymentStore } from '../pipeline/ports.js';
import { createRuntime } from '../runtime/index.js';
import { registryAuthLookup } from '../registry/pull-auth.js';
import { deploymentLister, rollback } from '../store/deployments.js';
import { loadTrust, type TrustFiles } from '../trust/load-trust.js';
import { spoolRoot } from '../spool/layout.js';
import { readUnpacked } from '../spool/unpacked.js';
import { daemonDir, stagedDir, type DaemonDeps } from './daemon.js';
import type { Loggers } from './logger.js';
import { opsDeployer } from './ops-deployer.js';
import { systemClock, type Clock } from '../util/clock.js';
import { StoreQueue } from './store-queue.js';

export async function productionDeps(loaded: LoadedConfig, loggers: Loggers, version: string, clock: Clock = systemClock): Promise<DaemonDeps> {
  const { config } = loaded;
  const trustFiles: TrustFiles = {
    allowedSigners: config.trust.allowedSigners,
    ...(config.trust.revokedKeys ? { revokedKeys: config.trust.revokedKeys } : {}),
  };
  const onTrustWarnings = trustWarningLogger(loggers);
  // Fail at start-up (exit 2, TRUST_INVALID / KRL_UNSUPPORTED) rather than at the first bundle.
  const trust = await loadTrust(trustFiles);
  onTrustWarnings(trust.warnings);
  loggers.log.info(
    {
      allowedSigners: trustFiles.allowedSigners,
      ...(trustFiles.revokedKeys ? { revokedKeysFile: trustFiles.revokedKeys } : {}),
      keys: trust.signers.length,
      revokedKeys: trust.revoked?.blobs.length ?? 0,
      threshold: config.trust.threshold,
    },
    'trust file loaded',
  );
  // Every store write of the daemon goes through one queue: it never collides with itself on the store's lock.
  const storeQueue = new StoreQueue();
  const installer = storeQueue.installer(
    new WorkerInstaller({
      store: config.store,
      trust: trustFiles,
      threshold: config.trust.threshold,
      retention: config.retention.deployments,
      onTrustWarnings,
      maxManifestBytes: config.limits.manifestBytes,
      // Watched by their real paths (watch-roots.ts): confinement starts at the same folders.
      clock,
      roots: await Promise.all([...config.dropFolders, ...config.mediaRoots].map((p) => realpath(p).catch(() => p))),
      ...(config.arrival.verifyWhileArriving ? { spoolRoot: stagedDir(config.store) } : {}),
      // A bundle the parts spool unpacked and verified while its parts arrived: its blobs are linked, not read again.
      unpackedFor: (ref) => (ref.kind === 'fs' ? readUnpacked(spoolRoot(daemonDir(config.store)), ref.location) : Promise.resolve(undefined)),
    }),
  );
  const deployments: DeploymentStore = storeQueue.deployments({
    list: deploymentLister(config.store),
    rollback: (name, to) => rollback(config.store, name, to, clock()),
  });
  const runtime = await createRuntime(config.runtime, process.env, { registryAuth: registryAuthLookup(config.registries) });
  const extensions = await statusPage(loggers);
  return {
    installer,
    probe: new ProbeWorker({
      maxManifestBytes: config.limits.manifestBytes,
      ...(config.arrival.verifyWhileArriving
        ? {
            staging: {
              root: stagedDir(config.store),
              store: config.store,
              trust: trustFiles,
              threshold: config.trust.threshold,
              maxManifestBytes: config.limits.manifestBytes,
              settleMs: config.arrival.settleMs,
              keepMs: config.arrival.keepStagedSeconds * 1000,
            },
          }
        : {}),
    }),
    deployments,
    ...(runtime && config.runtime.kind !== 'none' ? { deployer: opsDeployer({ runtime, settings: config.runtime, deployments }, clock) } : {}),
    loggers,
    version,
    onTrustWarnings,
    clock,
    ...(extensions.length ? { extensions } : {}),
  };
}

/** Skipped trust-file lines, logged once each time the set of them changes (the file is re-read per bundle). */
function trustWarningLogger(loggers: Loggers): (warnings: string[]) => void {
  let last = '';
  return (warnings) => {
    const key = warnings.join('\n');
    if (key === last) return;
    last = key;
    for (const warning of warnings) loggers.log.warn({ warning }, 'trust file line skipped');
  };
}

// The status page (issue 7) lives in src/api/ui and exports `registerUi`; a build without it serves the API alone.
const UI_MODULE = new URL('../api/ui/index.js', import.meta.url).href;

async function statusPage(loggers: Loggers): Promise<ApiExtension[]> {
  try {
    const mod = (await import(UI_MODULE)) as { registerUi?: ApiExtension };
    return mod.registerUi ? [mod.registerUi] : [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('ui/index.js')) return [];
    loggers.log.error({ err }, 'the status page failed to load; serving the API without it');
    return [];
  }
}
