// The connected-side containers `airlock fetch` runs: the guide's "Network-Connected Phase" docker run lines
// (download-to-cache, create-model-store, list-model-profiles) as container specs of the runtime seam. Pure.
import { CACHE_MOUNT, MODEL_REPO_MOUNT } from './container-spec.js';
import type { ContainerSpec, MountSpec } from './runtime.js';

export const CA_MOUNT = '/opt/nim/proxy-ca.pem';
/** Credentials go to these containers only: the connected phase downloads with them. */
export const CREDENTIAL_ENV_NAMES: readonly string[] = ['NGC_API_KEY', 'HF_TOKEN'];
export const PROXY_ENV_NAMES: readonly string[] = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
export const FETCH_LABEL = 'airlock.fetch';

export type FetchMode = { list: true } | { all: true } | { profiles: string[] };

export interface FetchRequest {
  image: string;
  mode: FetchMode;
  /** Absolute host path of the NIM cache to fill. */
  cacheDir?: string;
  /** Absolute host path for create-model-store (needs exactly one profile). */
  modelStoreDir?: string;
  /** Absolute host path of a PEM CA bundle for a TLS-inspecting proxy. */
  caFile?: string;
  gpus: 'all' | 'none';
  /** Like `-u $(id -u)`: files land in the cache owned by the caller. */
  user: string;
}

export interface FetchStep {
  /** The command line shown to the user, e.g. "download-to-cache -p <id>". */
  title: string;
  spec: ContainerSpec;
}

export function planFetch(req: FetchRequest, env: NodeJS.ProcessEnv): FetchStep[] {
  if ('list' in req.mode) return [step(req, env, ['list-model-profiles'], false)];
  const download = 'all' in req.mode ? ['--all'] : ['-p', ...req.mode.profiles];
  const steps = [step(req, env, ['download-to-cache', ...download], true)];
  if (req.modelStoreDir !== undefined && 'profiles' in req.mode) {
    for (const profile of req.mode.profiles) {
      steps.push(step(req, env, ['create-model-store', '-p', profile, '-m', MODEL_REPO_MOUNT], true));
    }
  }
  return steps;
}

function step(req: FetchRequest, env: NodeJS.ProcessEnv, cmd: string[], withCredentials: boolean): FetchStep {
  const passed = [...(withCredentials ? CREDENTIAL_ENV_NAMES : []), ...PROXY_ENV_NAMES].filter((n) => env[n] !== undefined && env[n] !== '');
  const vars = passed.map((n) => `${n}=${env[n]}`);
  if (req.caFile !== undefined) vars.push(`SSL_CERT_FILE=${CA_MOUNT}`);
  const mounts: MountSpec[] = [];
  if (req.cacheDir !== undefined) mounts.push({ source: req.cacheDir, target: CACHE_MOUNT, readOnly: false });
  if (req.modelStoreDir !== undefined && cmd[0] === 'create-model-store') {
    mounts.push({ source: req.modelStoreDir, target: MODEL_REPO_MOUNT, readOnly: false });
  }
  if (req.caFile !== undefined) mounts.push({ source: req.caFile, target: CA_MOUNT, readOnly: true });
  // The guide's proxy example reaches a proxy on the host as host.docker.internal.
  const needsHostGateway = PROXY_ENV_NAMES.some((n) => env[n]?.includes('host.docker.internal'));
  return {
    title: cmd.join(' '),
    spec: {
      image: req.image,
      command: cmd,
      env: vars,
      user: req.user,
      mounts,
      ports: [],
      restart: 'no',
      gpus: req.gpus,
      labels: { [FETCH_LABEL]: 'true' },
      ...(needsHostGateway ? { extraHosts: ['host.docker.internal:host-gateway'] } : {}),
    },
  };
}
