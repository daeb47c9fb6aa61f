// Every container engine airlock deploys to, by the config's `runtime.kind`. A new runtime is its adapter (one file
// implementing Runtime, runtime.ts), its branch in schema/runtime-config.schema.json, and one line here. Adapters
// load only when asked for, so an install-only host never loads an engine client.
import type { Runtime } from './runtime.js';

type EngineFactory = (env: NodeJS.ProcessEnv) => Promise<Runtime>;

const ENGINES = {
  docker: async (env) => (await import('./docker/docker-runtime.js')).DockerRuntime.fromEnv(env),
} satisfies Record<string, EngineFactory>;

export type EngineKind = keyof typeof ENGINES;

export const ENGINE_KINDS = Object.keys(ENGINES) as EngineKind[];

export function isEngineKind(kind: string): kind is EngineKind {
  return Object.hasOwn(ENGINES, kind);
}

/** The engine of `kind`, reached as its own client reads `env` (Docker: DOCKER_HOST). */
export function openEngine(kind: EngineKind, env: NodeJS.ProcessEnv): Promise<Runtime> {
  return ENGINES[kind](env);
}
