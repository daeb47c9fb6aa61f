// `airlock unlock`: clear a store lock that airlock cannot prove stale by itself, chiefly one written under
// another host name (a container recreated with a new hostname shares the store but not the old pid space).
// Never removes the lock of a process that runs on this machine; a foreign lock only when the operator names
// its host, confirming that nothing there uses the store any more.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { LOCK_FILE, TEMP_PREFIX } from './layout.js';
import { breakLock, parseOwner, runsHere, type LockOwner } from './lock.js';

export type UnlockDecision =
  { action: 'none' } | { action: 'remove'; why: 'unreadable' | 'dead-here' | 'other-host' } | { action: 'refuse'; message: string };

export interface UnlockContext {
  /** this host's name */
  host: string;
  /** does this pid with this start time run on this machine (any host name)? */
  runsHere(o: LockOwner): boolean;
}

/** What to do with the lock text `held` (undefined: no lock), given `confirmHost` from --host. Pure. */
export function decideUnlock(store: string, held: string | undefined, confirmHost: string | undefined, here: UnlockContext): UnlockDecision {
  if (held === undefined) return { action: 'none' };
  const o = parseOwner(held);
  // Not a lock airlock wrote: the next install would take it over as stale anyway.
  if (!o) return { action: 'remove', why: 'unreadable' };
  const live = here.runsHere(o);
  if (o.host === here.host) {
    if (live)
      return { action: 'refuse', message: `store ${store} is in use by process ${o.pid} on this host; wait for it to finish (nothing removed)` };
    return { action: 'remove', why: 'dead-here' };
  }
  if (live) {
    return {
      action: 'refuse',
      message: `the lock names host ${o.host}, but process ${o.pid} with the same start time runs on this machine (${here.host}); nothing removed`,
    };
  }
  if (confirmHost === undefined) {
    return {
      action: 'refuse',
      message: `store ${store} is locked by process ${o.pid} on host ${o.host}; if no airlock on ${o.host} uses this store any more, confirm with --host ${o.host} (nothing removed)`,
    };
  }
  if (confirmHost !== o.host) return { action: 'refuse', message: `the lock names host ${o.host}, not ${confirmHost}; nothing removed` };
  return { action: 'remove', why: 'other-host' };
}

export interface UnlockResult {
  removed: boolean;
  /** the holder named by the removed (or absent) lock */
  holder?: LockOwner;
  why?: 'unreadable' | 'dead-here' | 'other-host';
  /** half-taken lock files of the same holder's host, removed too */
  tempFilesRemoved: string[];
}

/** Remove the store's lock when decideUnlock allows it; STORE_BUSY (nothing removed) when it does not. */
export async function unlockStore(store: string, confirmHost?: string): Promise<UnlockResult> {
  const here: UnlockContext = { host: os.hostname(), runsHere };
  const file = path.join(store, LOCK_FILE);
  const held = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const decision = decideUnlock(store, held, confirmHost, here);
  if (decision.action === 'refuse') throw new AirlockError('STORE_BUSY', decision.message, { path: file });
  if (decision.action === 'none' || held === undefined) return { removed: false, tempFilesRemoved: [] };
  // Compare-and-remove: a lock taken by someone else since it was read stays.
  if (!(await breakLock(store, held)))
    throw new AirlockError('STORE_BUSY', `the lock of store ${store} changed while being cleared; nothing removed, run unlock again`, { path: file });
  const holder = parseOwner(held);
  const tempFilesRemoved = decision.why === 'other-host' && holder ? await removeTempLocks(store, holder.host, here) : [];
  return { removed: true, why: decision.why, ...(holder ? { holder } : {}), tempFilesRemoved };
}

// `.tmp-lock-*` files are locks being taken; recovery keeps those of other hosts (it cannot check them), so the
// ones the confirmed host left behind go with its lock.
async function removeTempLocks(store: string, host: string, here: UnlockContext): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(store)) {
    if (!name.startsWith(`${TEMP_PREFIX}lock-`)) continue;
    const o = parseOwner(await fsp.readFile(path.join(store, name), 'utf8').catch(() => ''));
    if (!o || o.host !== host || here.runsHere(o)) continue;
    await fsp.rm(path.join(store, name), { force: true });
    removed.push(name);
  }
  return removed;
}
