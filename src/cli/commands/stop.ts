// airlock stop: stop and remove a model's container by hand.
import { AirlockError } from '../../errors.js';
import { defaultRuntimeConfig } from '../../runtime/config.js';
import { DockerRuntime } from '../../runtime/docker-runtime.js';
import { onePositional, parseCommandArgs, writeLines, type CliIO } from '../command.js';

export const summary = "stop and remove a model's NIM container";
export const usage = `usage: airlock stop NAME
  Stops (graceful, then killed after 30 s) and removes the container airlock runs for model NAME,
  on the engine DOCKER_HOST names. The daemon starts it again only on the next install or deploy.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { positionals } = parseCommandArgs(argv, {}, usage);
  const name = onePositional(positionals, 'NAME', usage);
  const runtime = DockerRuntime.fromEnv(defaultRuntimeConfig, io.env);
  if (!(await runtime.stop(name))) throw new AirlockError('NOT_FOUND', `no container for model ${name}`);
  writeLines(io, [`stopped ${name}`]);
  return 0;
}
