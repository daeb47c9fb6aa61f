// Deployer over the runtime's narrow Runtime interface (src/runtime): one container per model, replaced
// after each install; when the new one is not ready the runtime restarts the previous deployment.
import { AirlockError } from '../errors.js';
import { isDeployableKind } from '../format/manifest.js';
import type { DeploymentInfo } from '../pipeline/deployment-types.js';
import type { Deployer, DeploymentStore } from '../pipeline/ports.js';
import type { DeployState } from '../pipeline/types.js';
import type { DeployOutcome, DeploymentTarget, HealthAnswer, Runtime } from '../runtime/index.js';

export function targetFor(d: DeploymentInfo): DeploymentTarget {
  const kind = d.kind;
  if (!isDeployableKind(kind)) {
    throw new AirlockError('NOT_DEPLOYABLE', `${d.name} is a ${kind} bundle: installed in the store (${d.path}), never run as a container`, { path: d.name });
  }
  const image = d.imageArchives[0];
  if (!image) throw new AirlockError('IMAGE_MISSING', `deployment ${d.bundleId} of ${d.name} carries no container image`, { path: d.name });
  return {
    name: d.name,
    bundleId: d.bundleId,
    manifestDigest: d.manifestDigest,
    kind,
    path: d.path,
    profiles: d.profiles,
    ...(d.servedModelName !== undefined ? { servedModelName: d.servedModelName } : {}),
    ...(d.modelPath !== undefined ? { modelPath: d.modelPath } : {}),
    image: { ref: image.ref, id: image.id, archivePath: image.path },
  };
}

function healthLine(h: HealthAnswer | undefined): string | undefined {
  if (!h) return undefined;
  return `${h.status ?? h.error ?? 'no answer'} ${h.endpoint}`;
}

export function deployStateOf(o: DeployOutcome): DeployState {
  const health = healthLine(o.health);
  return {
    state: o.status,
    updatedAt: new Date().toISOString(),
    ...(o.containerId ? { containerId: o.containerId } : {}),
    ...(health ? { health } : {}),
    ...(o.code ? { code: o.code } : {}),
    ...(o.message ? { message: o.message } : {}),
  };
}

export function runtimeDeployer(runtime: Runtime, deployments: DeploymentStore): Deployer {
  return {
    async deploy(target, opts) {
      // The deployment that served before this one: the runtime falls back to it when the new one fails.
      const model = (await deployments.list()).find((m) => m.name === target.name);
      const previous = [model?.current, ...(model?.kept ?? [])].find((d) => d && d.bundleId !== target.bundleId && d.imageArchives.length > 0);
      const outcome = await runtime.replace(targetFor(target), previous ? targetFor(previous) : undefined, {
        onState: (state, detail) => {
          const health = healthLine(detail.health);
          opts?.onState?.({
            state,
            updatedAt: new Date().toISOString(),
            ...(detail.containerId ? { containerId: detail.containerId } : {}),
            ...(health ? { health } : {}),
            ...(detail.code ? { code: detail.code } : {}),
            ...(detail.message ? { message: detail.message } : {}),
          });
        },
      });
      return deployStateOf(outcome);
    },
  };
}
