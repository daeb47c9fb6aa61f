// The DaemonView the API reads: assembled from the pipeline, the store's deployments, audit and metrics.
import { AirlockError, toAirlockError } from '../errors.js';
import type { DaemonView, ModelView, WatchedRootView } from '../api/context.js';
import type { LoadedConfig } from '../config/load-config.js';
import { isDeployableKind } from '../format/manifest.js';
import type { Deployer, DeploymentStore } from '../pipeline/ports.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { DeployState } from '../pipeline/types.js';
import type { AuditLog } from './audit.js';
import type { EventHub } from '../pipeline/event-hub.js';
import { renderMetrics, type Metrics } from './metrics.js';

export interface ViewParts {
  version: string;
  startedAt: Date;
  loaded: LoadedConfig;
  watched: () => WatchedRootView[];
  pipeline: Pipeline;
  deployments?: DeploymentStore;
  deployer?: Deployer;
  audit: AuditLog;
  metrics: Metrics;
  hub: EventHub;
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
    bundles: () => p.pipeline.records(),
    bundle: (id) => p.pipeline.get(id),
    queue: () => {
      const verifying = p.pipeline.verifying();
      return { ...(verifying ? { verifying } : {}), queued: p.pipeline.queued() };
    },
    models,
    audit: (limit, recordId) => p.audit.recent(limit, recordId),
    metricsText: async () => {
      const bundlesByState: Record<string, number> = {};
      for (const b of p.pipeline.records()) bundlesByState[b.state] = (bundlesByState[b.state] ?? 0) + 1;
      const currentSequence = (await models().catch(() => [])).flatMap((m) =>
        m.current ? [{ model: m.name, channel: m.current.channel, sequence: m.current.sequence }] : [],
      );
      const queueLength = p.pipeline.queued().length;
      return renderMetrics(p.metrics.snapshot({ currentSequence, bundlesByState, queueLength, eventClients: p.hub.size }));
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
      const runtime: DeployState = await p.deployer.deploy(name, { expectDigest: deployment.manifestDigest }).then(
        (r) => r.state,
        (err: unknown) => {
          const e = toAirlockError(err);
          return { state: 'failed' as const, code: e.code, message: e.message };
        },
      );
      runtime.updatedAt ??= new Date().toISOString();
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
