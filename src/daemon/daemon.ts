// Wires the daemon together: config → store state, audit, pipeline, watcher, API. `stop()` undoes it in order.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { repairStore } from '../store/recover.js';
import type { FastifyInstance } from 'fastify';
import type { ArrivalSource } from '../watcher/arrival-tracker.js';
import type { ApiExtension } from '../api/context.js';
import { loadOrCreateToken } from '../api/auth.js';
import { listenApi } from '../api/listen.js';
import { createApiServer } from '../api/server.js';
import type { LoadedConfig } from '../config/load-config.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { DEMO_KEY_FINGERPRINT } from '../trust/trust-health.js';
import type { Deployer, DeploymentStore, Installer } from '../pipeline/ports.js';
import { ArrivalGate } from '../spool/arrival-gate.js';
import { spoolRoot, stagedRoot } from '../spool/layout.js';
import { PartsSpool } from '../spool/parts-spool.js';
import type { SpoolIo } from '../spool/spool-client.js';
import { ArrivalTracker } from '../watcher/arrival-tracker.js';
import { createChokidarSource } from '../watcher/chokidar-source.js';
import { teeEvents } from '../watcher/fs-tee.js';
import type { Candidate } from '../watcher/candidates.js';
import type { FsEventSource } from '../watcher/fs-events.js';
import type { Probe } from '../watcher/probe.js';
import { AuditLog } from './audit.js';
import { EventHub } from '../pipeline/event-hub.js';
import type { Loggers } from './logger.js';
import { Metrics } from './metrics.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createDaemonView } from './view.js';
import { RegistryFeed } from './registry-feed.js';
import { resolveWatchRoots, watchNewMediaRoots } from './watch-roots.js';

export interface DaemonDeps {
  installer: Installer;
  deployer?: Deployer;
  deployments?: DeploymentStore;
  loggers: Loggers;
  version: string;
  fsSource?: FsEventSource;
  /**
   * probes arriving drops off the event loop (production: a worker thread, which also verifies folder bundles while
   * they arrive); in-process when absent
   */
  probe?: {
    probe(c: Candidate, handedOff?: string): Promise<Probe>;
    /** a drop is gone: forget what was verified of it while it arrived (its copies stay until reclaimed) */
    forget?(location: string): Promise<void>;
    /** remove the copies of drops that stopped arriving more than arrival.keepStagedSeconds ago */
    reclaim?(): Promise<string[]>;
    close(): Promise<void>;
  };
  extensions?: ApiExtension[];
  keepAliveMs?: number;
  /** how often missing media roots are looked for again (ms) */
  mediaRecheckMs?: number;
  /** the parts spool's reads (production: its worker thread) */
  spoolIo?: SpoolIo;
  /** lines skipped in the trust file, as the installer reports them */
  onTrustWarnings?: (warnings: string[]) => void;
  /** the one clock of the daemon: records, audit, deploy states (default: the system's) */
  clock?: Clock;
  /**
   * Places bundles arrive from besides the watched folders (a source kind of bundle/sources.ts that finds its own
   * bundles): started with the watcher, fed the same pipeline, closed before it.
   */
  arrivals?: ArrivalSource[];
}

export interface RunningDaemon {
  /** http://host:port, or unix:/path for a socket */
  url: string;
  app: FastifyInstance;
  pipeline: Pipeline;
  /** live events (SSE subscribers count as listeners) */
  hub: EventHub;
  /**
   * Settles (never rejects) with the error when the daemon can no longer keep its state file or audit trail:
   * it must then stop and exit non-zero (EXIT_FATAL) so the service manager starts it afresh.
   */
  fatal: Promise<unknown>;
  stop(): Promise<void>;
}

// A crash may have left staging leftovers or a stale current pointer; bring the store in line with
// its committed state before anything is installed or deployed. A busy store (a hand-run install) is left alone.
async function repairAtStart(store: string, log: DaemonDeps['loggers']['log']): Promise<void> {
  try {
    const report = await repairStore(store);
    const repaired = report.stagingRemoved.length + report.deploymentsRemoved.length + report.pointersRepaired.length;
    if (repaired > 0) log.warn({ store, ...report }, 'repaired the store after an interrupted run');
  } catch (err) {
    log.warn({ err, store }, 'could not check the store at start-up; the next install repairs it');
  }
}

export function daemonDir(store: string): string {
  return path.join(store, 'daemon');
}

/** Where folder bundles are verified while they arrive (src/spool/stager.ts): in the store's file system, private to the daemon. */
export function stagedDir(store: string): string {
  return stagedRoot(daemonDir(store));
}

export async function startDaemon(loaded: LoadedConfig, deps: DaemonDeps): Promise<RunningDaemon> {
  const { config } = loaded;
  const { log } = deps.loggers;
  const clock = deps.clock ?? systemClock;
  if (loaded.demoTrust) {
    log.warn(
      { allowedSigners: config.trust.allowedSigners, demoKey: DEMO_KEY_FINGERPRINT },
      `DEMO KEY TRUSTED: ${config.trust.allowedSigners} lets the demo key ${DEMO_KEY_FINGERPRINT} sign, and its private half is published with airlock: anyone can sign bundles this daemon installs. Trust your own keys only (docs/keys.md).`,
    );
  }
  const stateDir = daemonDir(config.store);
  // The store root must stay traversable (0755) for the container user; only the daemon's own folder is private.
  await fsp.mkdir(config.store, { recursive: true, mode: 0o755 });
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  // Copies kept from when folder bundles were verified while arriving serve no one once that is turned off.
  if (!config.arrival.verifyWhileArriving) await fsp.rm(stagedDir(config.store), { recursive: true, force: true });
  await repairAtStart(config.store, log);
  const { roots, watched, dropFolders } = await resolveWatchRoots(config, log);

  const token = await loadOrCreateToken(config.api.tokenFile);
  if (token.created) log.info({ tokenFile: config.api.tokenFile }, 'created the API token file (mode 0600)');
  if (token.tooOpen) log.warn({ tokenFile: config.api.tokenFile }, 'the API token file is readable by group or others; chmod 600 it');

  let reportFatal: (err: unknown) => void = () => {};
  const fatal = new Promise<unknown>((resolve) => (reportFatal = resolve));
  const fatalIn = (what: string) => (err: unknown) => {
    log.fatal({ err }, `cannot keep the ${what}; the daemon stops and exits so that it is started afresh`);
    reportFatal(err);
  };

  const hub = new EventHub();
  // The parts spool feeds the pipeline, which is made next; the pipeline's record changes reach it from the start.
  const spool = new PartsSpool({
    root: spoolRoot(stateDir),
    trust: { allowedSigners: config.trust.allowedSigners, ...(config.trust.revokedKeys ? { revokedKeys: config.trust.revokedKeys } : {}) },
    threshold: config.trust.threshold,
    quietPeriodMs: config.quietPeriodMs,
    settleMs: config.arrival.settleMs,
    abandonAfterMs: config.arrival.parts.abandonAfterHours * 3_600_000,
    maxBundles: config.arrival.parts.maxBundles,
    stallMs: config.limits.stallSeconds * 1000,
    maxManifestBytes: config.limits.manifestBytes,
    dropFolders,
    removeAfterInstall: config.removeAfterInstall,
    arrivals: (e) => pipeline.handle(e),
    refuse: (c, err, fingerprint, signers) => pipeline.refuse(c, err, fingerprint, signers),
    recordAt: (location) => pipeline.records().find((r) => r.location === location),
    audit: (e) => audit.record(e),
    log: log.child({ component: 'spool' }),
    ...(deps.onTrustWarnings ? { onTrustWarnings: deps.onTrustWarnings } : {}),
    ...(deps.spoolIo ? { io: deps.spoolIo } : {}),
  });
  const metrics = new Metrics(deps.version);
  const audit = new AuditLog({
    file: path.join(stateDir, 'audit.jsonl'),
    logger: deps.loggers.audit,
    hub,
    capacity: config.retention.auditEvents,
    clock,
    onFatal: fatalIn('audit trail'),
  });
  await audit.load();

  const pipeline = new Pipeline({
    stateFile: path.join(stateDir, 'bundles.json'),
    installer: deps.installer,
    ...(deps.deployer ? { deployer: deps.deployer } : {}),
    ...(deps.deployments ? { deployments: deps.deployments } : {}),
    log,
    dropFolders,
    removeAfterInstall: config.removeAfterInstall,
    retention: config.retention.bundles,
    retainRejected: config.retention.rejected,
    stallMs: config.limits.stallSeconds * 1000,
    clock,
    onFatal: fatalIn('daemon state'),
    hooks: {
      audit: (e) => audit.record(e),
      changed: (rec) => {
        hub.publish({ event: 'bundle', data: rec });
        spool.recordChanged(rec);
      },
      finished: (f) => metrics.observe(f),
    },
  });
  await pipeline.load();

  await spool.load();
  // Split bundles are the spool's to decide: an unsigned index goes the whole-folder way, as it always did.
  const gate = new ArrivalGate(
    (e) => pipeline.handle(e),
    (location) => spool.claimOf(location),
  );
  spool.onDecision((location, claim) => gate.decided(location, claim));

  for (const w of watched) if (!w.watching) log.info({ path: w.path }, 'media root does not exist yet; watched once it appears');
  const tracker = new ArrivalTracker({
    roots,
    quietPeriodMs: config.quietPeriodMs,
    ...(config.arrival.verifyWhileArriving ? { settleMs: config.arrival.settleMs } : {}),
    source: teeEvents(deps.fsSource ?? createChokidarSource(), (e) => spool.onFsEvent(e)),
    ...(deps.probe ? { probe: deps.probe.probe } : {}),
    onWatchError: (err, root) => log.warn({ err, root: root.path }, 'watcher error'),
  });
  const arrivals: ArrivalSource[] = [tracker, ...(deps.arrivals ?? [])];
  for (const f of pipeline.finishedFingerprints()) for (const a of arrivals) a.remember(f.location, f.fingerprint);

  // Registry subscriptions feed the same pipeline as the watcher; they start once the API listens.
  const feed = new RegistryFeed(config.registries, pipeline, log);
  // Aborted first thing in stop(): an API rollback still waiting for a container to become ready ends at once.
  const shutdown = new AbortController();
  const view = createDaemonView({
    version: deps.version,
    startedAt: clock(),
    loaded,
    watched: () => watched,
    registries: () => feed.views(),
    pipeline,
    ...(deps.deployments ? { deployments: deps.deployments } : {}),
    ...(deps.deployer ? { deployer: deps.deployer } : {}),
    audit,
    metrics,
    hub,
    clock,
    signal: shutdown.signal,
  });
  const app = await createApiServer(view, {
    token: token.token,
    logger: log.child({ component: 'api' }),
    listen: config.api.socket ? { socket: config.api.socket } : { host: config.api.host, port: config.api.port },
    eventClients: config.limits.eventClients,
    eventBufferBytes: config.limits.eventBufferBytes,
    ...(deps.extensions ? { extensions: deps.extensions } : {}),
    ...(deps.keepAliveMs ? { keepAliveMs: deps.keepAliveMs } : {}),
  });
  let url: string;
  try {
    url = await listenApi(app, config.api);
  } catch (err) {
    // A half-started server would keep the process alive after a failed start.
    await app.close().catch(() => undefined);
    throw err;
  }
  log.info(
    { url, config: loaded.source, store: config.store, dropFolders: config.dropFolders, runtime: config.runtime.kind },
    `airlock daemon listening on ${url}`,
  );

  const probe = deps.probe;
  try {
    spool.start();
    for (const a of arrivals)
      await a.start((e) => {
        if (e.type === 'gone') void probe?.forget?.(e.candidate.location).catch(() => undefined);
        gate.handle(e);
      });
  } catch (err) {
    // Without its watchers the daemon is useless: release the port and fail the start.
    for (const a of arrivals) await a.close().catch(() => undefined);
    await spool.close().catch(() => undefined);
    await app.close();
    throw err;
  }
  log.info({ roots: roots.map((r) => r.path) }, 'watching for bundles');
  feed.start();
  // /run/media/USER is often created by the first mount: pick up media roots that appear later.
  // One look at a time; stop() waits for the one in flight so no watcher is added after close.
  let mediaCheck: Promise<void> | undefined;
  const mediaTimer = setInterval(() => {
    mediaCheck ??= watchNewMediaRoots(tracker, watched, config.mediaDepth, log).finally(() => (mediaCheck = undefined));
  }, deps.mediaRecheckMs ?? 5000);
  // Copies of drops that stopped arriving are removed after arrival.keepStagedSeconds, checked a few times as often.
  const reclaimTimer = probe?.reclaim
    ? setInterval(() => void reclaimSpools(probe, log), reclaimEveryMs(config.arrival.keepStagedSeconds))
    : undefined;
  reclaimTimer?.unref();
  if (probe?.reclaim) void reclaimSpools(probe, log);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info({}, 'stopping');
      shutdown.abort();
      clearInterval(mediaTimer);
      if (reclaimTimer) clearInterval(reclaimTimer);
      // Every step runs even if an earlier one fails: a half-stopped daemon keeps the process alive.
      const failures: unknown[] = [];
      const step = async (fn: () => Promise<unknown> | undefined) => {
        try {
          await fn();
        } catch (err) {
          failures.push(err);
        }
      };
      await step(() => mediaCheck);
      for (const a of arrivals) await step(() => a.close());
      await step(() => feed.stop());
      await step(() => spool.close());
      await step(() => pipeline.stop());
      await step(() => app.close());
      await step(() => audit.flush());
      await step(() => deps.installer.close?.());
      await step(() => deps.probe?.close());
      await step(() => deps.deployer?.close?.());
      if (config.api.socket) await step(() => fsp.rm(config.api.socket!, { force: true }));
      if (failures.length > 0) {
        log.error({ err: failures[0] }, 'stopped with errors');
        throw failures[0];
      }
      log.info({}, 'stopped');
    })());
  return { url, app, pipeline, hub, fatal, stop };
}

function reclaimEveryMs(keepSeconds: number): number {
  return Math.min(60_000, Math.max(500, (keepSeconds * 1000) / 4));
}

async function reclaimSpools(probe: NonNullable<DaemonDeps['probe']>, log: DaemonDeps['loggers']['log']): Promise<void> {
  try {
    const removed = (await probe.reclaim?.()) ?? [];
    if (removed.length > 0) log.info({ spools: removed }, 'removed the verified copies of drops that stopped arriving');
  } catch (err) {
    log.warn({ err }, 'could not reclaim the copies of drops that stopped arriving');
  }
}
