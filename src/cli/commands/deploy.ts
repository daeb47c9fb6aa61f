// airlock deploy: (re)start the store's current deployment of a model by hand, as the daemon does after an install.
import path from 'node:path';
import { describeConfig, discoverConfig } from '../../config/discover.js';
import { AirlockError } from '../../errors.js';
import { deployCurrent, type DeployOutcome, type ModelDeployResult } from '../../ops/deploy.js';
import { createRuntime, type DeploySettings } from '../../runtime/index.js';
import { describeAnswer } from '../../runtime/health.js';
import { listDeployments, rollback } from '../../store/deployments.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { CONFIG_OPTION, DOCKER_ENVIRONMENT, JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { sayFor } from '../terminal.js';

export const spec = defineCommand({
  name: 'deploy',
  summary: "start a model's current deployment in its NIM container",
  description: [
    "Starts the container for the current deployment of model NAME in the store (loading its image from the store's copy of the bundle's archive when the engine lacks it), replacing the model's container, and waits for /v1/health/ready.",
    'When it does not become ready, the previous kept deployment is started again, made current in the store, and the command fails with ROLLED_BACK.',
    'The config\'s "runtime" section (kind docker) says how the container runs; its store is where the deployment is, unless --store says otherwise. Each state is shown on stderr as it is reached (not with --quiet or --json).',
  ],
  positionals: [{ name: 'NAME', complete: 'none', description: 'the model name, e.g. meta/llama-3.1-8b-instruct' }],
  options: [
    CONFIG_OPTION,
    { flag: '--store', value: 'DIR', complete: 'dir', description: "use this store instead of the config's", group: 'Store' },
    JSON_OPTION,
    QUIET_OPTION,
  ],
  jsonSchema: 'deploy-report',
  environment: DOCKER_ENVIRONMENT,
  exitStatus: '0 when the model is ready, 1 when it is not (ROLLED_BACK when the previous deployment was started again).',
  seeAlso: ['stop', 'rollback', 'doctor'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const name = positionals.NAME;
  const loaded = await discoverConfig(values.config, io.env, io.cwd);
  const runtimeConfig = loaded.config.runtime;
  if (runtimeConfig.kind === 'none') {
    throw new AirlockError(
      'CONFIG_INVALID',
      `runtime.kind is "none" in ${describeConfig(loaded)}: nothing would be started; give --config with a "runtime": {"kind": "docker"} section`,
      { path: 'runtime/kind' },
    );
  }
  const store = values.store !== undefined ? path.resolve(io.cwd, values.store) : loaded.config.store;
  const runtime = (await createRuntime(runtimeConfig, io.env))!;
  const say = sayFor(io, values.quiet || values.json);
  say(`config      ${describeConfig(loaded)}`);
  const result = await deployCurrent(
    { runtime, settings: runtimeConfig, deployments: { list: () => listDeployments(store), rollback: (n, to) => rollback(store, n, to) } },
    name,
    {
      onState: (state, d) =>
        say(`${state.padEnd(11)} ${d.model} bundle ${d.bundleId}${d.containerId ? ` container ${d.containerId.slice(0, 12)}` : ''}`),
    },
  );
  const { outcome, target } = result;
  if (values.json)
    writeJson(io, { ok: outcome.status === 'ready', model: name, bundleId: target.bundleId, current: result.current.bundleId, outcome });
  else writeLines(io, describeOutcome(name, result, runtimeConfig));
  if (outcome.status === 'ready') return 0;
  throw new AirlockError(outcome.code ?? 'CONTAINER_FAILED', outcome.message ?? `${name} did not become ready`);
}

function describeOutcome(name: string, r: ModelDeployResult, rc: DeploySettings): string[] {
  const o: DeployOutcome = r.outcome;
  const lines = [
    `model     ${name}`,
    `bundle    ${r.target.bundleId} (sequence ${r.target.sequence})`,
    `status    ${o.status}${o.code ? ` (${o.code})` : ''}`,
  ];
  if (o.containerId) lines.push(`container ${o.containerId.slice(0, 12)}`);
  if (o.health) lines.push(`health    ${describeAnswer(o.health)}`);
  if (o.message) lines.push(`reason    ${o.message}`);
  if (o.logs) lines.push('last logs', ...o.logs.split('\n').map((l) => `  ${l}`));
  if (o.previous && r.previous) {
    lines.push(
      `previous  ${r.previous.bundleId}: ${o.previous.status}${o.previous.containerId ? ` container ${o.previous.containerId.slice(0, 12)}` : ''}`,
    );
    if (o.previous.health) lines.push(`          ${describeAnswer(o.previous.health)}`);
  }
  lines.push(`current   ${r.current.bundleId} (in the store)`);
  if (o.status === 'ready' || o.previous?.status === 'ready') lines.push(`serving   http://${rc.publishHost}:${rc.publishPort}/v1/models`);
  return lines;
}
