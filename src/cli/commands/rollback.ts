// airlock rollback: make a kept earlier deployment of a model current again (one atomic rename).
import path from 'node:path';
import { rollback } from '../../store/deployments.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, STORE_OPTION } from '../common-options.js';
import { writableStore } from '../store-access.js';

export const spec = defineCommand({
  name: 'rollback',
  summary: 'make a kept earlier deployment of a model current again',
  description: [
    'Without --to, the deployment that was current before the present one becomes current; --to takes a kept bundle id or manifest digest (airlock deployments lists them).',
    'The switch is one atomic rename. It does not lower the recorded highest sequence: a bundle older than that still needs --allow-downgrade to be installed. A running daemon deploys the new current deployment only when asked (airlock deploy NAME).',
  ],
  positionals: [{ name: 'NAME', complete: 'none', description: 'the model name, e.g. meta/llama-3.1-8b-instruct' }],
  options: [
    STORE_OPTION,
    { flag: '--to', value: 'ID', complete: 'none', description: 'the kept bundle id or manifest digest to make current', group: 'Store' },
    JSON_OPTION,
  ],
  jsonSchema: 'rollback-report',
  seeAlso: ['deployments', 'deploy'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const store = path.resolve(io.cwd, values.store);
  const d = await writableStore(store, () => rollback(store, positionals.NAME, values.to));
  if (values.json) writeJson(io, { ok: true, deployment: d });
  else writeLines(io, [`current   ${d.name} ${d.bundleId} (channel ${d.channel}, sequence ${d.sequence})`, `path      ${d.path}`]);
  return 0;
}
