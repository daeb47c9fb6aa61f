// The DaemonView the API reads: assembled from the pipeline, the store's deployments, audit and metrics.
import { statfs } from 'node:fs/promises';
import { AirlockError, toAirlockError } from '../errors.js';
import type { DaemonView, ModelView, RegistryView, WatchedRootView } from '../api/context.js';
import type { LoadedConfig } from '../config/load-config.js';
import { isDeployableKind } from '../format/manifest.js';
import type { Deployer, DeploymentStore } from '../pipeline/ports.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { DeployState } from '../pipeline/types.js';
import type { AuditLog } from './audit.js';
import type { EventHub } from '../pipeline/event-hub.js';
import type { Clock } from '../util/clock.js';
import { renderMetrics, type Metrics } from './metrics.js';

/** Per model, when its newest kept deployment was installed (a rollback does not change it), in Unix seconds. */
export function lastInstalls(models: ModelView[]): Array<{ model: string; seconds: number }> {
  return models.flatMap((m) => {
    const times = [m.current, ...m.kept].flatMap((d) => (d ? [Date.parse(d.installedAt)] : [])).filter(Number.isFinite);
    return times.length ? [{ model: m.name, seconds: Math.floor(Math.max(...times) / 1000) }] : [];
  });
}

/** What an unprivileged writer may still use on the store's file system (statfs f_bavail). */
async function freeBytes(store: string): Promise<number | undefined> {
  const fs = await statfs(store).catch(() => undefined);
  return fs ? fs.bavail * fs.bsize : undefined;
}

export interface ViewParts {
  version: string;
  startedAt: Date;
  loaded: LoadedConfig;
  watched: () => WatchedRootView[];
  registries?: () => RegistryView[];
  pipeline: Pipeline;
  deployments?: DeploymentStore;
  deployer?: Deployer;
  audit: AuditLog;
  metrics: Metrics;
  hub: EventHub;
  clock: Clock;
  /** aborted when the daemon stops: a rollback's deploy still waiting for readiness is abandoned */
  signal?: AbortSignal;
}

export function createDaemonView(p: ViewParts): DaemonView {
  const runtimeState = new Map<string, DeployState>();
  const models = async (): Promise<ModelView[]> => {
    if (!p.deployments) return [];
    // The newest container state per model: from the pipeline's last deploy or from a rollback.
    const newest = new Map(runtimeState);
    for (const r of p.pipeline.records()) {
      const known = r.name === undefined ? undefined : newest.get(r.name);
      if (r.name && r.deployment && (!known || (r.deployment.updatedAt ?? '') > (known.updatedAt ?? ''))) newest.set(r.name, r.deployment);
    }
    return (await p.deployments.list()).map((m) => {
      const runtime = newest.get(m.name);
      return { ...m, ...(runtime ? { runtime } : {}) };
    });
  };
  return {
    version: p.version,
    startedAt: p.startedAt,
    config: {
      source: p.loaded.source,
      demoTrust: p.loaded.demoTrust,
      store: p.loaded.config.store,
      runtime: p.loaded.config.runtime.kind,
      quietPeriodMs: p.loaded.config.quietPeriodMs,
      arrival: p.loaded.config.arrival,
    },
    watched: p.watched,
    registries: p.registries ?? (() => []),
    bundles: () => p.pipeline.records(),
    bundle: (id) => p.pipeline.get(id),
    queue: () => {
      const verifying = p.pipeline.verifying();
      return { ...(verifying ? { verifying } : {}), queued: p.pipeline.queued() };
    },
    models,
    audit: (limit, recordId) => p.audit.recent(limit, recordId),
    metricsText: async () => {
      const bundleRecords: Record<string, number> = {};
      for (const b of p.pipeline.records()) bundleRecords[b.state] = (bundleRecords[b.state] ?? 0) + 1;
      const known = await models().catch(() => []);
      const currentSequence = known.flatMap((m) => (m.current ? [{ model: m.name, channel: m.current.channel, sequence: m.current.sequence }] : []));
      const storeFreeBytes = await freeBytes(p.loaded.config.store);
      return renderMetrics(
        p.metrics.snapshot({
          lastInstall: lastInstalls(known),
          currentSequence,
          bundleRecords,
          queueLength: p.pipeline.queued().length,
          eventClients: p.hub.size,
          ...(storeFreeBytes === undefined ? {} : { storeFreeBytes }),
        }),
      );
    },
    retry: (id) => p.pipeline.retry(id),
    rollback: async (name, to) => {
      if (!p.deployments) throw new AirlockError('NO_SUCH_DEPLOYMENT', `no deployments of ${name}`, { path: name });
      const deployment = await p.deployments.rollback(name, to);
      const identity = {
        name,
        bundleId: deployment.bundleId,
        channel: deployment.channel,
        sequence: deployment.sequence,
        manifestDigest: deployment.manifestDigest,
      };
      p.audit.record({ event: 'rolled-back', actor: 'api', ...identity });
      if (!p.deployer || !isDeployableKind(deployment.kind)) return { deployment };
      // The deploy use case starts what is now current and, should it fail, puts the previous one back in both places.
      const runtime: DeployState = await p.deployer
        .deploy(name, { expectDigest: deployment.manifestDigest, ...(p.signal ? { signal: p.signal } : {}) })
        .then(
          (r) => r.state,
          (err: unknown) => {
            const e = toAirlockError(err);
            return { state: 'failed' as const, code: e.code, message: e.message };
          },
        );
      runtime.updatedAt ??= p.clock().toISOString();
      runtimeState.set(name, runtime);
      p.hub.publish({ event: 'deployment', data: { name, runtime } });
      p.audit.record({
        event: runtime.state === 'ready' ? 'deployed' : 'deploy-failed',
        actor: 'api',
        ...identity,
        ...(runtime.code ? { code: runtime.code } : {}),
      });
      return { deployment, runtime };
    },
    hub: p.hub,
    eventClientDropped: () => p.metrics.countEventClientDropped(),
  };
}
