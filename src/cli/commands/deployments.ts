import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { listDeployments, type DeploymentInfo } from '../../store/deployments.js';
import { assertStoreShape } from '../../store/store-dir.js';
import { humanBytes } from '../../util/human.js';
import { parseCommandArgs, requireOption, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'list the models in a store with their current and kept deployments';
export const usage = `usage: airlock deployments --store DIR [--json]`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  await assertStoreShape(store, true);
  const models = await listDeployments(store);
  if (values.json) {
    writeJson(io, { store, models });
    return 0;
  }
  if (models.length === 0) {
    writeLines(io, [`no deployments in ${store}`]);
    return 0;
  }
  const lines: string[] = [];
  for (const m of models) {
    lines.push(m.name);
    if (m.current) lines.push(line('*', m.current));
    for (const k of m.kept) lines.push(line(' ', k));
  }
  writeLines(io, lines);
  return 0;
}

function line(mark: string, d: DeploymentInfo): string {
  return `  ${mark} ${d.bundleId}  ${d.channel}#${d.sequence}  ${d.kind}  ${d.files} files ${humanBytes(d.bytes)}  ${d.installedAt}  ${d.path}`;
}
