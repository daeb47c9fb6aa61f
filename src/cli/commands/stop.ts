// airlock stop: stop and remove a model's container by hand.
import { describeConfig, discoverConfig } from '../../config/discover.js';
import { AirlockError } from '../../errors.js';
import { stopModel } from '../../ops/deploy.js';
import { engineRuntime } from '../../runtime/index.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { CONFIG_OPTION, DOCKER_ENVIRONMENT, JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { sayFor } from '../terminal.js';

export const spec = defineCommand({
  name: 'stop',
  summary: "stop and remove a model's NIM container",
  description: [
    'Stops (graceful, then killed after 30 s) and removes the container airlock runs for model NAME. The daemon starts the model again only on the next install or deploy.',
  ],
  positionals: [{ name: 'NAME', complete: 'none', description: 'the model name, e.g. meta/llama-3.1-8b-instruct' }],
  options: [CONFIG_OPTION, JSON_OPTION, QUIET_OPTION],
  jsonSchema: 'stop-report',
  environment: DOCKER_ENVIRONMENT,
  exitStatus: '0 when the container was stopped and removed, 1 when there is none (NOT_FOUND) or the engine cannot be reached.',
  seeAlso: ['deploy'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const name = positionals.NAME;
  const loaded = await discoverConfig(values.config, io.env, io.cwd);
  // A config with runtime kind none still stops a container started by hand: the engine is then Docker's.
  const runtime = await engineRuntime(loaded.config.runtime, io.env);
  sayFor(io, values.quiet)(`airlock: config ${describeConfig(loaded)}`);
  if (!(await stopModel(runtime, name))) throw new AirlockError('NOT_FOUND', `no container for model ${name}`);
  if (values.json) writeJson(io, { ok: true, model: name, stopped: true, config: loaded.source });
  else writeLines(io, [`stopped ${name}`]);
  return 0;
}
