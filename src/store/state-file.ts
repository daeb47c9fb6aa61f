// state.json: the store's single commit point. Written whole (temp, fsync, rename, fsync folder), so a
// reader or a crash sees the old state or the new one, never a mix.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { parseJsonDocument } from '../util/json-document.js';
import { schemaProblems } from '../util/schemas.js';
import { writeFileAtomic } from './durable.js';
import { STATE_FILE } from './layout.js';
import { emptyState, stateProblems, upgradeState, type StoreState } from './state.js';

const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** The raw bytes of state.json, or undefined when nothing was ever committed. */
export async function readStateBytes(store: string): Promise<Buffer | undefined> {
  const file = path.join(store, STATE_FILE);
  const st = await fsp.lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return undefined;
  if (!st.isFile()) throw new AirlockError('STORE_INVALID', `${file} is not a regular file`, { path: file });
  if (st.size > MAX_STATE_BYTES) throw new AirlockError('STORE_INVALID', `${file} is ${st.size} bytes, too large`, { path: file });
  return fsp.readFile(file);
}

export function parseState(bytes: Buffer, origin: string): StoreState {
  const doc = parseJsonDocument<StoreState>(bytes, {
    schema: 'store-state',
    origin,
    code: 'STORE_INVALID',
    maxBytes: MAX_STATE_BYTES,
    upgrade: upgradeState,
  });
  const problems = stateProblems(doc);
  if (problems.length > 0) throw new AirlockError('STORE_INVALID', `${origin}: ${problems.join('; ')}`, { path: origin });
  return doc;
}

/** The committed state; an empty one for a store nothing was installed into yet. */
export async function readState(store: string): Promise<StoreState> {
  const bytes = await readStateBytes(store);
  return bytes === undefined ? emptyState() : parseState(bytes, path.join(store, STATE_FILE));
}

/** The commit: after this returns, the new state is what every reader and every restart sees. */
export async function writeState(store: string, state: StoreState): Promise<void> {
  const problems = [...schemaProblems('store-state', state).map((p) => `${p.field} ${p.message}`), ...stateProblems(state)];
  if (problems.length > 0) throw new AirlockError('INTERNAL', `refusing to write an invalid store state: ${problems.join('; ')}`);
  await writeFileAtomic(path.join(store, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}
