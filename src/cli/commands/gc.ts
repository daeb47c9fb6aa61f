import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { gcStore } from '../../store/gc.js';
import { humanBytes } from '../../util/human.js';
import { parseCommandArgs, requireOption, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'remove content no kept deployment references';
export const usage = `usage: airlock gc --store DIR [--json]
  Removes content blobs no kept deployment (current or kept for rollback) references, and leftovers
  of interrupted installs. Deployments dropped by retention lose their trees at install time; their
  content stays (usable by delta bundles) until gc.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  const r = await gcStore(store);
  if (values.json) writeJson(io, { store, ...r });
  else {
    writeLines(io, [
      `removed   ${r.removedBlobs} blobs, ${humanBytes(r.removedBytes)}`,
      `kept      ${r.keptBlobs} blobs, ${humanBytes(r.keptBytes)}`,
    ]);
  }
  return 0;
}
