import path from 'node:path';
import { rollback } from '../../store/deployments.js';
import { onePositional, parseCommandArgs, requireOption, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'make a kept earlier deployment of a model current again';
export const usage = `usage: airlock rollback NAME --store DIR [--to ID] [--json]
  NAME is the model name (e.g. meta/llama-3.1-8b-instruct). Without --to, the deployment that was
  current before the present one; --to takes a kept bundle id or manifest digest (airlock deployments).
  The switch is one atomic rename. It does not lower the recorded highest sequence: a bundle older
  than that still needs --allow-downgrade to be installed.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } }, usage);
  const name = onePositional(positionals, 'NAME', usage);
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  const d = await rollback(store, name, values.to);
  if (values.json) writeJson(io, { ok: true, deployment: d });
  else writeLines(io, [`current   ${d.name} ${d.bundleId} (channel ${d.channel}, sequence ${d.sequence})`, `path      ${d.path}`]);
  return 0;
}
