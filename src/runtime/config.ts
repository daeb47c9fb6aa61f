// The runtime configuration (the daemon config's `runtime` key): a union by kind, defaults, validation.
// The container settings are the deploy policy's, the same for every engine: an engine kind (engines.ts) takes
// them all, and `none` takes none.
import { AirlockError } from '../errors.js';
import { schemaProblems } from '../util/schemas.js';
import type { EngineKind } from './engines.js';
import type { GpuRequest, RestartPolicyName } from './runtime.js';

export type { GpuRequest, RestartPolicyName } from './runtime.js';

/** How a deployment's container is run and awaited, whatever runs it. */
export interface DeploySettings {
  gpus: GpuRequest;
  publishHost: string;
  publishPort: number;
  servedModelName?: string;
  shmSize: string;
  user: string;
  readyTimeoutMs: number;
  pollIntervalMs: number;
  restartPolicy: RestartPolicyName;
  profile?: string;
  modelPath?: string;
  env: Record<string, string>;
}

export type RuntimeConfig = { kind: 'none' } | EngineRuntimeConfig;
/** A runtime that starts containers: its engine and the deploy settings. */
export type EngineRuntimeConfig = { kind: EngineKind } & DeploySettings;

export const defaultDeploySettings: Readonly<DeploySettings> = Object.freeze({
  gpus: 'all',
  publishHost: '127.0.0.1',
  publishPort: 8000,
  servedModelName: undefined,
  shmSize: '16g',
  user: '1000',
  readyTimeoutMs: 1_800_000,
  pollIntervalMs: 5000,
  restartPolicy: 'unless-stopped',
  profile: undefined,
  modelPath: undefined,
  env: {},
});

export const defaultRuntimeConfig: Readonly<EngineRuntimeConfig> = Object.freeze({ kind: 'docker', ...defaultDeploySettings });

/**
 * Credentials NIM reads to download models. The guide: "In the air-gapped phase, do not set NGC_API_KEY or HF_TOKEN".
 * HUGGING_FACE_HUB_TOKEN and NGC_CLI_API_KEY are older spellings the same tools accept.
 */
export const SECRET_ENV_NAMES: readonly string[] = ['NGC_API_KEY', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'NGC_CLI_API_KEY'];

/** NGC personal keys start `nvapi-`, Hugging Face tokens `hf_`: a value like that is a credential whatever its name. */
const SECRET_VALUE = /^(nvapi-|hf_[A-Za-z0-9]{16,})/;

/** Variables airlock derives from the deployment; setting them by hand would fight the container spec. */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'NIM_MODEL_PROFILE',
  'NIM_MODEL_PATH',
  'NIM_SERVED_MODEL_NAME',
  'NIM_CACHE_PATH',
  'NIM_SERVER_PORT',
];

export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_NAMES.includes(name.toUpperCase());
}

/** The first credential found in an environment map, as `NAME`, or undefined. */
export function findSecret(env: Record<string, unknown>): string | undefined {
  for (const [name, value] of Object.entries(env)) {
    if (isSecretEnvName(name)) return name;
    if (typeof value === 'string' && SECRET_VALUE.test(value)) return name;
  }
  return undefined;
}

/** Refuse credentials anywhere in a raw runtime config: as a key, or in `env`. */
export function assertNoSecrets(raw: Record<string, unknown>, origin = 'runtime'): void {
  const top = Object.keys(raw).find(isSecretEnvName);
  const env = raw['env'];
  const inEnv = env && typeof env === 'object' && !Array.isArray(env) ? findSecret(env as Record<string, unknown>) : undefined;
  const found = top ?? inEnv;
  if (found !== undefined) {
    throw new AirlockError(
      'SECRET_IN_CONFIG',
      `${origin} holds the credential ${found}; the air-gapped side must never pass NGC_API_KEY or HF_TOKEN to NIM (remove it)`,
      { path: top !== undefined ? `${origin}/${found}` : `${origin}/env/${found}` },
    );
  }
}

/** Validate a raw `runtime` section and merge it over the defaults. Throws SECRET_IN_CONFIG or CONFIG_INVALID. */
export function resolveRuntimeConfig(raw: unknown, origin = 'runtime'): RuntimeConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AirlockError('CONFIG_INVALID', `${origin} must be an object`, { path: origin });
  }
  // Secrets first: a credential is a policy violation, not a typo, and gets its own code.
  assertNoSecrets(raw as Record<string, unknown>, origin);
  const problems = schemaProblems('runtime-config', raw);
  if (problems.length > 0) {
    throw AirlockError.fromFailures(
      problems.map((p) => ({ code: 'CONFIG_INVALID' as const, path: `${origin}/${p.field}`, message: `${origin}/${p.field}: ${p.message}` })),
    );
  }
  if ((raw as { kind?: unknown }).kind === 'none') return { kind: 'none' };
  // The schema admitted the kind: it is an engine's.
  const given = raw as Partial<EngineRuntimeConfig> & { kind: EngineKind };
  const reserved = Object.keys(given.env ?? {}).find((name) => RESERVED_ENV_NAMES.includes(name));
  if (reserved !== undefined) {
    throw new AirlockError('CONFIG_INVALID', `${origin}/env/${reserved} is set by airlock from the deployment; use the runtime keys instead`, {
      path: `${origin}/env/${reserved}`,
    });
  }
  return { ...defaultDeploySettings, ...given, env: { ...(given.env ?? {}) } };
}

/** The container settings a config implies; the defaults for kind none (nothing runs, but doctor still checks trees). */
export function deploySettingsOf(rc: RuntimeConfig): DeploySettings {
  if (rc.kind === 'none') return defaultDeploySettings;
  const { kind: _kind, ...settings } = rc;
  return settings;
}
