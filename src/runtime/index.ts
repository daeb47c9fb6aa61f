// The runtime's public face: the narrow interface, config, and the factory. dockerode loads only here.
import type { RuntimeConfig } from './config.js';
import type { RegistryAuthLookup, Runtime } from './runtime.js';

export type { ContainerSpec, ContainerState, DeploymentTarget, EngineFacts, HealthAnswer, ImageSpec, Runtime, RuntimeHints } from './runtime.js';
export { defaultRuntimeConfig, resolveRuntimeConfig, type DeploySettings, type RuntimeConfig } from './config.js';

export interface RuntimeOptions {
  /** credentials for pulling images by digest from the registries the config subscribes to */
  registryAuth?: RegistryAuthLookup;
}

/** The runtime a config asks for; undefined for `kind: none` (install without starting anything). */
export async function createRuntime(
  config: RuntimeConfig,
  env: NodeJS.ProcessEnv = process.env,
  opts: RuntimeOptions = {},
): Promise<Runtime | undefined> {
  if (config.kind === 'none') return undefined;
  return dockerRuntime(env, opts);
}

/** The Docker Engine DOCKER_HOST names, for commands that need an engine whatever the config says (pack --image, fetch). */
export async function dockerRuntime(env: NodeJS.ProcessEnv = process.env, opts: RuntimeOptions = {}): Promise<Runtime> {
  const { DockerRuntime } = await import('./docker/docker-runtime.js');
  return DockerRuntime.fromEnv(env, opts.registryAuth ? { registryAuth: opts.registryAuth } : {});
}
