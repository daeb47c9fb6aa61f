// airlock unlock: clear a store lock airlock cannot prove stale by itself (see store/unlock.ts).
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { assertStoreShape } from '../../store/store-dir.js';
import { unlockStore } from '../../store/unlock.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, STORE_OPTION } from '../common-options.js';
import { writableStore } from '../store-access.js';

export const spec = defineCommand({
  name: 'unlock',
  summary: 'clear a store lock left by a process on another host name (e.g. a recreated container)',
  description: [
    "The store lock names its holder's pid, start time and host name. A holder on this host that is gone is taken over by the next install anyway; a live one is never removed.",
    'A lock written under another host name (a container recreated with a new hostname, or another machine sharing the store) cannot be checked from here: once you know no airlock on that host uses the store any more, remove it with --host NAME, NAME being the host the lock names (STORE_BUSY shows it).',
  ],
  positionals: [],
  options: [
    STORE_OPTION,
    { flag: '--host', value: 'NAME', complete: 'none', description: 'the host name the lock names: remove a lock held there', group: 'Store' },
    JSON_OPTION,
  ],
  jsonSchema: 'unlock-report',
  exitStatus: '0 when the store is unlocked, 1 (STORE_BUSY) when the lock stays.',
  seeAlso: ['install', 'gc'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  if (values.host === '') throw new AirlockError('USAGE', '--host needs the host name the lock names', { path: '--host' });
  const store = path.resolve(io.cwd, values.store);
  await assertStoreShape(store, true);
  const r = await writableStore(store, () => unlockStore(store, values.host));
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
