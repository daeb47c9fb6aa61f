// The runtime's public face for the pipeline and CLI: the narrow interface, config, and a factory.
export type { ContainerState, DeployOutcome, DeployState, DeploymentTarget, HealthAnswer, ImageSpec, Runtime, RuntimeHooks, StateDetail } from './runtime.js';
export { defaultRuntimeConfig, resolveRuntimeConfig, type RuntimeConfig } from './config.js';

/** The runtime a config asks for; undefined for `kind: none` (install without starting anything). dockerode loads only here. */
export async function createRuntime(
  config: import('./config.js').RuntimeConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<import('./runtime.js').Runtime | undefined> {
  if (config.kind === 'none') return undefined;
  const { DockerRuntime } = await import('./docker-runtime.js');
  return DockerRuntime.fromEnv(config, env);
}
