// The runtime's public face: the narrow interface, config, and the factory. Engine clients (dockerode) load only
// through engines.ts, when a command or the daemon needs one.
import type { RuntimeConfig } from './config.js';
import { openEngine } from './engines.js';
import type { Runtime } from './runtime.js';

export type { ContainerSpec, ContainerState, DeploymentTarget, EngineFacts, HealthAnswer, ImageSpec, Runtime, RuntimeHints } from './runtime.js';
export { defaultRuntimeConfig, resolveRuntimeConfig, type DeploySettings, type RuntimeConfig } from './config.js';

/** The runtime a config asks for; undefined for `kind: none` (install without starting anything). */
export async function createRuntime(config: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Runtime | undefined> {
  if (config.kind === 'none') return undefined;
  return openEngine(config.kind, env);
}

/** The engine for a command that needs one whatever the config deploys with (stop): the config's, else Docker's. */
export async function engineRuntime(config: RuntimeConfig | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  return openEngine(config && config.kind !== 'none' ? config.kind : 'docker', env);
}

/** The Docker Engine DOCKER_HOST names, for the connected side's commands (pack --image, fetch): they work with Docker images. */
export function dockerRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  return openEngine('docker', env);
}
