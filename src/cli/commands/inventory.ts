// airlock inventory: what a store holds, for delta bundles (pack --against).
import path from 'node:path';
import { writeFileAtomic } from '../../store/durable.js';
import { buildInventory } from '../../store/inventory.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, STORE_OPTION } from '../common-options.js';
import { writableOutput } from '../store-access.js';

export const spec = defineCommand({
  name: 'inventory',
  summary: 'write what a store holds, for delta bundles (pack --against)',
  description: [
    "Writes the store's content hashes and sizes and its kept bundles (schema/inventory.schema.json) to FILE, or to stdout. Carry it to the connected side and pack with --against FILE: files the store holds are left out of the bundle. It is only a hint; install re-checks its own content.",
    'Without --out the inventory itself is the JSON on stdout (with or without --json); with --out and --json, a short report of what was written (schema/inventory-report.schema.json).',
  ],
  positionals: [],
  options: [
    STORE_OPTION,
    { flag: '--out', value: 'FILE', complete: 'file', description: 'write the inventory to FILE (atomically) instead of stdout', group: 'Output' },
    JSON_OPTION,
  ],
  jsonSchema: 'inventory-report',
  seeAlso: ['pack', 'gc'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const store = path.resolve(io.cwd, values.store);
  const inventory = await buildInventory(store);
  if (values.out === undefined) {
    writeJson(io, inventory);
    return 0;
  }
  const out = path.resolve(io.cwd, values.out);
  await writableOutput(`--out ${out}`, () => writeFileAtomic(out, JSON.stringify(inventory, null, 2) + '\n'));
  const report = { ok: true, store, out, blobs: inventory.content.length, bundles: inventory.bundles.length };
  if (values.json) writeJson(io, report);
  else writeLines(io, [`wrote     ${out} (${report.blobs} blobs, ${report.bundles} bundles)`]);
  return 0;
}
