// The NIM container for a deployment, as Docker Engine create options. Pure: the docker run lines of
// NVIDIA's air-gap guide ("Air-Gapped Phase"), one per bundle kind, expressed through the API.
import type Docker from 'dockerode';
import { AirlockError } from '../errors.js';
import { parseByteSize } from '../util/byte-size.js';
import { findSecret, RESERVED_ENV_NAMES, type GpuRequest, type RuntimeConfig } from './config.js';
import type { DeploymentTarget } from './runtime.js';

export const NIM_PORT = '8000/tcp';
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

/** `docker run --gpus` as device requests: all GPUs, listed ones, or none at all. */
export function deviceRequests(gpus: GpuRequest): Docker.DeviceRequest[] | undefined {
  if (gpus === 'none') return undefined;
  if (gpus === 'all') return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  return [{ Driver: 'nvidia', DeviceIDs: [...gpus], Capabilities: [['gpu']] }];
}

export function buildContainerSpec(target: DeploymentTarget, config: RuntimeConfig, inputs: SpecInputs): Docker.ContainerCreateOptions {
  if (!target.path.startsWith('/')) throw new AirlockError('INTERNAL', `deployment path ${target.path} is not absolute`);
  refuseSecrets(config.env);
  const reserved = Object.keys(config.env).find((n) => RESERVED_ENV_NAMES.includes(n));
  if (reserved) throw new AirlockError('CONFIG_INVALID', `runtime.env/${reserved} is set by airlock from the deployment`, { path: `runtime/env/${reserved}` });

  const { mount, env } = modelPlacement(target, config, inputs);
  const servedName = config.servedModelName ?? target.servedModelName ?? target.name;
  const userEnv = Object.keys(config.env)
    .sort()
    .map((k) => `${k}=${config.env[k]}`);
  const devices = deviceRequests(config.gpus);
  return {
    name: containerName(target.name),
    // The ID, never the tag: a local tag may point at another image (issue: "a local tag pointing at a different ID is never used").
    Image: target.image.id,
    Env: [`NIM_SERVED_MODEL_NAME=${servedName}`, ...env, ...userEnv],
    User: config.user,
    ExposedPorts: { [NIM_PORT]: {} },
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.model]: target.name,
      [LABELS.bundleId]: target.bundleId,
      [LABELS.manifestDigest]: target.manifestDigest,
      [LABELS.imageRef]: target.image.ref,
    },
    HostConfig: {
      // Mounts, not Binds: a path holding ':' or ',' cannot be misread, and a missing source is an error, not a new dir.
      Mounts: [mount],
      PortBindings: { [NIM_PORT]: [{ HostIp: config.publishHost, HostPort: String(config.publishPort) }] },
      ShmSize: parseByteSize(config.shmSize),
      RestartPolicy: { Name: config.restartPolicy },
      ...(devices ? { DeviceRequests: devices } : {}),
    },
  };
}

/** Where the model goes and which variables tell NIM about it, per bundle kind. */
function modelPlacement(
  target: DeploymentTarget,
  config: RuntimeConfig,
  inputs: SpecInputs,
): { mount: Docker.MountSettings; env: string[] } {
  const modelPath = config.modelPath ?? target.modelPath;
  const remote = modelPath !== undefined && isRemoteModelPath(modelPath);
  if (target.kind === 'nim-cache') {
    // Read-only: the deployment is immutable store content (a writable mount would let NIM change hashed files).
    // NIM serves a pre-populated cache without writing to it (the NIM Operator offers readOnly cache mounts).
    const mount: Docker.MountSettings = { Type: 'bind', Source: target.path, Target: CACHE_MOUNT, ReadOnly: true };
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
    mount: { Type: 'bind', Source: target.path, Target: MODEL_REPO_MOUNT, ReadOnly: true },
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
function chooseProfile(target: DeploymentTarget, config: RuntimeConfig): string {
  if (config.profile !== undefined) {
    const chosen = target.profiles.find((p) => p.id === config.profile || p.name === config.profile);
    if (!chosen) {
      throw new AirlockError('CONFIG_INVALID', `runtime.profile ${config.profile} is not one of the bundle's profiles (${describe(target)})`, {
        path: 'runtime/profile',
      });
    }
    return chosen.id;
  }
  const [only, ...more] = target.profiles;
  if (only && more.length === 0) return only.id;
  const why = only ? `holds ${target.profiles.length} profiles (${describe(target)}); choose one with runtime.profile` : 'lists no profile';
  throw new AirlockError('CONFIG_INVALID', `bundle ${target.name} ${why}`, { path: 'runtime/profile' });
}

function describe(target: DeploymentTarget): string {
  return target.profiles.map((p) => (p.name ? `${p.id} ${p.name}` : p.id)).join(', ') || 'none';
}

function refuseSecrets(env: Record<string, string>): void {
  const secret = findSecret(env);
  if (secret !== undefined) {
    throw new AirlockError('SECRET_IN_CONFIG', `runtime.env holds the credential ${secret}; it is never passed to an air-gapped NIM`, {
      path: `runtime/env/${secret}`,
    });
  }
}
