// airlock stop: stop and remove a model's container by hand.
import { describeConfig, discoverConfig } from '../../config/discover.js';
import { AirlockError } from '../../errors.js';
import { stopModel } from '../../ops/deploy.js';
import { engineRuntime } from '../../runtime/index.js';
import { onePositional, parseCommandArgs, writeLines, type CliIO } from '../command.js';

export const summary = "stop and remove a model's NIM container";
export const usage = `usage: airlock stop NAME [--config FILE]
  Stops (graceful, then killed after 30 s) and removes the container airlock runs for model NAME.
  The config is found as for every command (--config, $AIRLOCK_CONFIG, /etc/airlock/config.json, else the
  embedded one); the engine is its runtime's (Docker at DOCKER_HOST, also when the runtime is "none").
  The daemon starts the model again only on the next install or deploy.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' } }, usage);
  const name = onePositional(positionals, 'NAME', usage);
  const loaded = await discoverConfig(values.config, io.env, io.cwd);
  // A config with runtime kind none still stops a container started by hand: the engine is then Docker's.
  const runtime = await engineRuntime(loaded.config.runtime, io.env);
  writeLines(io, [`airlock: config ${describeConfig(loaded)}`], 'stderr');
  if (!(await stopModel(runtime, name))) throw new AirlockError('NOT_FOUND', `no container for model ${name}`);
  writeLines(io, [`stopped ${name}`]);
  return 0;
}
