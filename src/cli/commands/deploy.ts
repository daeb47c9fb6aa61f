// airlock deploy: (re)start the store's current deployment of a model by hand, as the daemon does after an install.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { targetFor } from '../../daemon/runtime-deployer.js';
import { AirlockError } from '../../errors.js';
import { createRuntime, resolveRuntimeConfig, type DeployOutcome, type RuntimeConfig } from '../../runtime/index.js';
import { describeAnswer } from '../../runtime/health.js';
import { listDeployments, rollback, type DeploymentInfo } from '../../store/deployments.js';
import { onePositional, parseCommandArgs, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = "start a model's current deployment in its NIM container";
export const usage = `usage: airlock deploy NAME [--store DIR] [--config FILE] [--json]
  Starts the container for the current deployment of model NAME in the store (loading its image from
  the store's copy of the bundle's archive when the engine lacks it), replacing the model's container,
  and waits for /v1/health/ready. When it does not become ready, the previous kept deployment is started
  again, made current in the store, and the command fails with ROLLED_BACK.
  --config  the daemon config file: its "runtime" section (and "store" when --store is not given).
            Without it: runtime {"kind": "docker"} with every default (gpus all, 127.0.0.1:8000).
  The engine is the one DOCKER_HOST names.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } }, usage);
  const name = onePositional(positionals, 'NAME', usage);
  const settings = await readDeploySettings(values.config, io.cwd);
  const storeArg = values.store !== undefined ? path.resolve(io.cwd, values.store) : settings.store;
  if (storeArg === undefined) throw new AirlockError('USAGE', `missing --store (or a config file naming one)\n${usage}`, { path: '--store' });
  const { current, previous } = await deploymentsOf(storeArg, name);

  const runtime = await createRuntime(settings.runtime, io.env);
  if (!runtime) throw new AirlockError('CONFIG_INVALID', 'runtime.kind is "none" in the config: nothing would be started', { path: 'runtime/kind' });
  const say = (line: string) => (values.json ? undefined : writeLines(io, [line], 'stderr'));
  const outcome = await runtime.replace(targetFor(current), previous ? targetFor(previous) : undefined, {
    onState: (state, d) => say(`${state.padEnd(11)} ${d.model} bundle ${d.bundleId}${d.containerId ? ` container ${d.containerId.slice(0, 12)}` : ''}`),
  });
  // The store's current pointer follows what serves: after a rollback, the previous deployment.
  if (outcome.status === 'rolled-back' && previous) await rollback(storeArg, name, previous.bundleId);

  if (values.json) writeJson(io, { ok: outcome.status === 'ready', model: name, bundleId: current.bundleId, outcome });
  else writeLines(io, describeOutcome(name, current, previous, outcome, settings.runtime));
  if (outcome.status === 'ready') return 0;
  throw new AirlockError(outcome.code ?? 'CONTAINER_FAILED', outcome.message ?? `${name} did not become ready`);
}

interface DeploySettings {
  runtime: RuntimeConfig;
  store?: string;
}

/** The config file's runtime section (validated, secrets refused) and store; docker defaults without one. */
async function readDeploySettings(file: string | undefined, cwd: string): Promise<DeploySettings> {
  if (file === undefined) return { runtime: resolveRuntimeConfig({ kind: 'docker' }) };
  const abs = path.resolve(cwd, file);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(abs, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new AirlockError('CONFIG_INVALID', `cannot read config ${abs}: ${(err as Error).message}`, { path: abs, cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new AirlockError('CONFIG_INVALID', `config ${abs} is not a JSON object`, { path: abs });
  const runtime = resolveRuntimeConfig(doc['runtime'] ?? { kind: 'docker' }, 'runtime');
  const store = typeof doc['store'] === 'string' ? path.resolve(path.dirname(abs), doc['store']) : undefined;
  return { runtime, ...(store !== undefined ? { store } : {}) };
}

async function deploymentsOf(store: string, name: string): Promise<{ current: DeploymentInfo; previous?: DeploymentInfo }> {
  const model = (await listDeployments(store)).find((m) => m.name === name);
  if (!model?.current) throw new AirlockError('NO_SUCH_DEPLOYMENT', `the store ${store} holds no deployment of ${name}`, { path: name });
  const previous = model.kept.find((d) => d.imageArchives.length > 0);
  return { current: model.current, ...(previous ? { previous } : {}) };
}

function describeOutcome(name: string, current: DeploymentInfo, previous: DeploymentInfo | undefined, o: DeployOutcome, rc: RuntimeConfig): string[] {
  const lines = [`model     ${name}`, `bundle    ${current.bundleId} (sequence ${current.sequence})`, `status    ${o.status}${o.code ? ` (${o.code})` : ''}`];
  if (o.containerId) lines.push(`container ${o.containerId.slice(0, 12)}`);
  if (o.health) lines.push(`health    ${describeAnswer(o.health)}`);
  if (o.message) lines.push(`reason    ${o.message}`);
  if (o.logs) lines.push('last logs', ...o.logs.split('\n').map((l) => `  ${l}`));
  if (o.previous && previous) {
    lines.push(`previous  ${previous.bundleId}: ${o.previous.status}${o.previous.containerId ? ` container ${o.previous.containerId.slice(0, 12)}` : ''}`);
    if (o.previous.health) lines.push(`          ${describeAnswer(o.previous.health)}`);
  }
  if (o.status === 'ready' || o.previous?.status === 'ready') lines.push(`serving   http://${rc.publishHost}:${rc.publishPort}/v1/models`);
  return lines;
}
