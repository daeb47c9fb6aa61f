// airlock unlock: clear a store lock airlock cannot prove stale by itself (see store/unlock.ts).
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { assertStoreShape } from '../../store/store-dir.js';
import { unlockStore } from '../../store/unlock.js';
import { parseCommandArgs, requireOption, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'clear a store lock left by a process on another host name (e.g. a recreated container)';
export const usage = `usage: airlock unlock --store DIR [--host NAME] [--json]
  The store lock names its holder's pid, start time and host name. A holder on this host that is gone is
  taken over by the next install anyway; a live one is never removed. A lock written under another host
  name (a container recreated with a new hostname, or another machine sharing the store) cannot be checked
  from here: once you know no airlock on that host uses the store any more, remove it with --host NAME,
  NAME being the host the lock names (STORE_BUSY shows it). Exit 0 when the store is unlocked, 1
  (STORE_BUSY) when the lock stays.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' }, host: { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  if (values.host === '') throw new AirlockError('USAGE', `--host needs the host name the lock names\n${usage}`, { path: '--host' });
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  await assertStoreShape(store, true);
  const r = await unlockStore(store, values.host);
  if (values.json) {
    writeJson(io, { store, ...r });
    return 0;
  }
  if (!r.removed) writeLines(io, [`store ${store} is not locked`]);
  else {
    const who = r.holder ? `process ${r.holder.pid} on host ${r.holder.host}` : 'an unreadable holder';
    writeLines(io, [`removed   the lock of ${who}`, ...r.tempFilesRemoved.map((n) => `removed   ${n}`)]);
  }
  return 0;
}
