import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { writeFileAtomic } from '../../store/durable.js';
import { buildInventory } from '../../store/inventory.js';
import { parseCommandArgs, requireOption, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'write what a store holds, for delta bundles (pack --against)';
export const usage = `usage: airlock inventory --store DIR [--out FILE]
  Writes the store's content hashes and sizes and its kept bundles (schema/inventory.schema.json)
  to FILE, or to stdout. Carry it to the connected side and pack with --against FILE: files the
  store holds are left out of the bundle. It is only a hint; install re-checks its own content.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, out: { type: 'string' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  const inventory = await buildInventory(store);
  if (values.out === undefined) writeJson(io, inventory);
  else {
    const out = path.resolve(io.cwd, values.out);
    await writeFileAtomic(out, JSON.stringify(inventory, null, 2) + '\n');
    writeLines(io, [`wrote     ${out} (${inventory.content.length} blobs, ${inventory.bundles.length} bundles)`]);
  }
  return 0;
}
