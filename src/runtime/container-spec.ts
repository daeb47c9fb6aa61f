// The NIM container for a deployment, in the runtime seam's own vocabulary (ContainerSpec). Pure: the docker
// run lines of NVIDIA's air-gap guide ("Air-Gapped Phase"), one per bundle kind; each runtime adapter maps the
// spec onto its engine (runtime/docker/docker-options.ts).
import { AirlockError } from '../errors.js';
import { parseByteSize } from '../util/byte-size.js';
import { findSecret, RESERVED_ENV_NAMES, type DeploySettings } from './config.js';
import type { ContainerSpec, DeploymentTarget, MountSpec } from './runtime.js';

/** The port NIM serves on inside its container. */
export const NIM_PORT = 8000;
export const CACHE_MOUNT = '/opt/nim/.cache';
export const MODEL_REPO_MOUNT = '/model-repo';
/** The file a model-free NIM persists in its cache after resolving a remote NIM_MODEL_PATH once. */
export const RUNTIME_MANIFEST = 'nim_runtime_manifest.yaml';

export const LABELS = {
  managed: 'airlock.managed',
  model: 'airlock.model',
  bundleId: 'airlock.bundle-id',
  manifestDigest: 'airlock.manifest-digest',
  imageRef: 'airlock.image-ref',
} as const;

export interface SpecInputs {
  /** Whether the deployment directory holds nim_runtime_manifest.yaml (the caller looks; this stays pure). */
  hasRuntimeManifest: boolean;
}

const REMOTE_URI = /^[a-z][a-z0-9+.-]*:\/\//i;

export function isRemoteModelPath(p: string): boolean {
  return REMOTE_URI.test(p);
}

/** `airlock-<slug>`: one container per model name, named so `docker ps` shows which. */
export function containerName(model: string): string {
  const slug = model
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-_.]+|[-_.]+$/g, '');
  return `airlock-${slug || 'model'}`.slice(0, 200);
}

export function buildContainerSpec(target: DeploymentTarget, config: DeploySettings, inputs: SpecInputs): ContainerSpec {
  if (!target.path.startsWith('/')) throw new AirlockError('INTERNAL', `deployment path ${target.path} is not absolute`);
  refuseSecrets(config.env);
  const reserved = Object.keys(config.env).find((n) => RESERVED_ENV_NAMES.includes(n));
  if (reserved)
    throw new AirlockError('CONFIG_INVALID', `runtime.env/${reserved} is set by airlock from the deployment`, { path: `runtime/env/${reserved}` });

  const { mount, env } = modelPlacement(target, config, inputs);
  const servedName = config.servedModelName ?? target.hints.servedModelName ?? target.name;
  const userEnv = Object.keys(config.env)
    .sort()
    .map((k) => `${k}=${config.env[k]}`);
  return {
    name: containerName(target.name),
    // The ID, never the tag: a local tag may point at another image (issue: "a local tag pointing at a different ID is never used").
    image: target.image.id,
    env: [`NIM_SERVED_MODEL_NAME=${servedName}`, ...env, ...userEnv],
    user: config.user,
    mounts: [mount],
    ports: [{ containerPort: NIM_PORT, hostIp: config.publishHost, hostPort: config.publishPort }],
    shmBytes: parseByteSize(config.shmSize),
    restart: config.restartPolicy,
    gpus: config.gpus,
    labels: modelLabels(target),
  };
}

/** The labels airlock puts on a model's container, by which it finds its own containers again. */
export function modelLabels(target: Pick<DeploymentTarget, 'name' | 'bundleId' | 'manifestDigest' | 'image'>): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.model]: target.name,
    [LABELS.bundleId]: target.bundleId,
    [LABELS.manifestDigest]: target.manifestDigest,
    [LABELS.imageRef]: target.image.ref,
  };
}

/** Where the model goes and which variables tell NIM about it, per bundle kind. */
function modelPlacement(target: DeploymentTarget, config: DeploySettings, inputs: SpecInputs): { mount: MountSpec; env: string[] } {
  const modelPath = config.modelPath ?? target.hints.modelPath;
  const remote = modelPath !== undefined && isRemoteModelPath(modelPath);
  if (target.kind === 'nim-cache') {
    // Read-only: the deployment is immutable store content (a writable mount would let NIM change hashed files).
    // NIM serves a pre-populated cache without writing to it (the NIM Operator offers readOnly cache mounts).
    const mount: MountSpec = { source: target.path, target: CACHE_MOUNT, readOnly: true };
    if (modelPath !== undefined) {
      if (!remote) {
        throw new AirlockError('CONFIG_INVALID', `modelPath ${modelPath} is not a remote URI; a nim-cache deployment is served from its cache`, {
          path: 'runtime/modelPath',
        });
      }
      refuseRemoteWithoutManifest(modelPath, inputs);
      const profile = config.profile ? [`NIM_MODEL_PROFILE=${chooseProfile(target, config)}`] : [];
      return { mount, env: [`NIM_MODEL_PATH=${modelPath}`, ...profile] };
    }
    return { mount, env: [`NIM_MODEL_PROFILE=${chooseProfile(target, config)}`] };
  }
  // model-store and model-dir: "NIM_MODEL_PATH=/model-repo", the directory mounted read-only.
  if (remote) {
    throw new AirlockError(
      'REMOTE_MODEL_PATH',
      `modelPath ${modelPath} is remote, but a ${target.kind} deployment has no NIM cache to hold ${RUNTIME_MANIFEST}; NIM would need the network`,
      { path: 'modelPath' },
    );
  }
  return {
    mount: { source: target.path, target: MODEL_REPO_MOUNT, readOnly: true },
    env: [`NIM_MODEL_PATH=${MODEL_REPO_MOUNT}`],
  };
}

function refuseRemoteWithoutManifest(modelPath: string, inputs: SpecInputs): void {
  if (!inputs.hasRuntimeManifest) {
    throw new AirlockError(
      'REMOTE_MODEL_PATH',
      `NIM_MODEL_PATH ${modelPath} is remote and the deployment holds no ${RUNTIME_MANIFEST}; NIM would try the network to generate it`,
      { path: 'modelPath' },
    );
  }
}

/** The guide: NIM_MODEL_PROFILE is "required when running from cache without a model store". */
function chooseProfile(target: DeploymentTarget, config: DeploySettings): string {
  if (config.profile !== undefined) {
    const chosen = target.hints.profiles.find((p) => p.id === config.profile || p.name === config.profile);
    if (!chosen) {
      throw new AirlockError('CONFIG_INVALID', `runtime.profile ${config.profile} is not one of the bundle's profiles (${describe(target)})`, {
        path: 'runtime/profile',
      });
    }
    return chosen.id;
  }
  const [only, ...more] = target.hints.profiles;
  if (only && more.length === 0) return only.id;
  const why = only ? `holds ${target.hints.profiles.length} profiles (${describe(target)}); choose one with runtime.profile` : 'lists no profile';
  throw new AirlockError('CONFIG_INVALID', `bundle ${target.name} ${why}`, { path: 'runtime/profile' });
}

function describe(target: DeploymentTarget): string {
  return target.hints.profiles.map((p) => (p.name ? `${p.id} ${p.name}` : p.id)).join(', ') || 'none';
}

function refuseSecrets(env: Record<string, string>): void {
  const secret = findSecret(env);
  if (secret !== undefined) {
    throw new AirlockError('SECRET_IN_CONFIG', `runtime.env holds the credential ${secret}; it is never passed to an air-gapped NIM`, {
      path: `runtime/env/${secret}`,
    });
  }
}
