// airlock gc: remove content no kept deployment references.
import path from 'node:path';
import { gcStore } from '../../store/gc.js';
import { humanBytes } from '../../util/human.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, STORE_OPTION } from '../common-options.js';
import { writableStore } from '../store-access.js';

export const spec = defineCommand({
  name: 'gc',
  summary: 'remove content no kept deployment references',
  description: [
    'Removes content blobs no kept deployment (current or kept for rollback) references, and leftovers of interrupted installs. Deployments dropped by retention lose their trees at install time; their content stays (usable by delta bundles) until gc.',
  ],
  positionals: [],
  options: [STORE_OPTION, JSON_OPTION],
  jsonSchema: 'gc-report',
  seeAlso: ['deployments', 'inventory'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const store = path.resolve(io.cwd, values.store);
  const r = await writableStore(store, () => gcStore(store));
  if (values.json) writeJson(io, { store, ...r });
  else {
    writeLines(io, [
      `removed   ${r.removedBlobs} blobs, ${humanBytes(r.removedBytes)}`,
      `kept      ${r.keptBlobs} blobs, ${humanBytes(r.keptBytes)}`,
    ]);
  }
  return 0;
}
