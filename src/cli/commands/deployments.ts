// airlock deployments: the models in a store with their current and kept deployments.
import path from 'node:path';
import { listDeployments, type DeploymentInfo } from '../../store/deployments.js';
import { assertStoreShape } from '../../store/store-dir.js';
import { humanBytes } from '../../util/human.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, STORE_OPTION } from '../common-options.js';

export const spec = defineCommand({
  name: 'deployments',
  summary: 'list the models in a store with their current and kept deployments',
  description: ['One line per deployment: * marks the current one; the others are kept for rollback (airlock rollback).'],
  positionals: [],
  options: [STORE_OPTION, JSON_OPTION],
  jsonSchema: 'deployments-report',
  seeAlso: ['rollback', 'install'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const store = path.resolve(io.cwd, values.store);
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
