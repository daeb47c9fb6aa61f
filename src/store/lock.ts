// One writer per store: a lock file naming its holder's pid. A lock whose holder died (kill -9, power
// loss) is stale and taken over, so a crash never blocks the next install; a live holder means STORE_BUSY.
// A holder on another host name cannot be checked from here; its STORE_BUSY says how to clear it (unlock.ts).
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { LOCK_FILE, TEMP_PREFIX } from './layout.js';

export interface LockOwner {
  pid: number;
  /** process start time from /proc (clock ticks since boot), so a recycled pid is not mistaken for the holder */
  startTime: string;
  host: string;
  nonce: string;
}

export interface StoreLock {
  owner: LockOwner;
  release(): Promise<void>;
}

/** Take the store's lock or throw STORE_BUSY naming the live holder. */
export async function acquireStoreLock(store: string): Promise<StoreLock> {
  const file = path.join(store, LOCK_FILE);
  const owner: LockOwner = {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? '-',
    host: os.hostname(),
    nonce: randomBytes(8).toString('hex'),
  };
  const text = formatOwner(owner);
  // The lock's content is written before the lock exists (link of a finished file), so no reader ever sees it empty.
  const tmp = path.join(store, `${TEMP_PREFIX}lock-${owner.nonce}`);
  await fsp.writeFile(tmp, text, { mode: 0o644, flag: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fsp.link(tmp, file);
        return { owner, release: () => releaseLock(file, owner) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await fsp.readFile(file, 'utf8').catch(() => undefined);
      if (held === undefined) continue;
      const holder = parseOwner(held);
      if (holder && isAlive(holder)) throw new AirlockError('STORE_BUSY', busyMessage(store, holder), { path: file });
      await breakLock(store, held);
    }
    throw new AirlockError('STORE_BUSY', `could not take the lock of store ${store}`, { path: file });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** What STORE_BUSY says: who holds the store and, for a holder this host cannot check, how to clear it safely. */
export function busyMessage(store: string, holder: LockOwner, here = os.hostname()): string {
  if (holder.host === here) return `store ${store} is in use by process ${holder.pid} on this host (${here}); wait for it to finish`;
  return (
    `store ${store} is locked by process ${holder.pid} on host ${holder.host}, not this host (${here}), so airlock cannot tell ` +
    `whether it still runs. If no airlock on ${holder.host} uses this store any more (e.g. a container recreated ` +
    `with a new host name), clear the lock with: airlock unlock --store ${store} --host ${holder.host}`
  );
}

/**
 * Remove the lock if it still holds exactly `heldText`: it is moved aside under a private name first, and put
 * back if it turns out to be someone else's fresh lock (they broke the same lock first). True when removed.
 */
export async function breakLock(store: string, heldText: string): Promise<boolean> {
  const file = path.join(store, LOCK_FILE);
  const aside = path.join(store, `${TEMP_PREFIX}stale-lock-${randomBytes(6).toString('hex')}`);
  try {
    await fsp.rename(file, aside);
  } catch {
    return false;
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => undefined);
  const ours = moved === heldText;
  if (!ours) await fsp.link(aside, file).catch(() => undefined);
  await fsp.rm(aside, { force: true });
  return ours;
}

async function releaseLock(file: string, owner: LockOwner): Promise<void> {
  const held = await fsp.readFile(file, 'utf8').catch(() => undefined);
  if (held !== undefined && parseOwner(held)?.nonce === owner.nonce) await fsp.rm(file, { force: true });
}

/** Read the current holder without taking the lock (for status reports and checks). */
export async function lockHolder(store: string): Promise<(LockOwner & { alive: boolean }) | undefined> {
  const held = await fsp.readFile(path.join(store, LOCK_FILE), 'utf8').catch(() => undefined);
  const owner = held === undefined ? undefined : parseOwner(held);
  return owner ? { ...owner, alive: isAlive(owner) } : undefined;
}

export function formatOwner(o: LockOwner): string {
  return `${o.pid} ${o.startTime} ${o.host} ${o.nonce}\n`;
}

export function parseOwner(text: string): LockOwner | undefined {
  const m = /^(\d+) (\S+) (\S+) ([0-9a-f]+)\n?$/.exec(text);
  if (!m) return undefined;
  return { pid: Number(m[1]), startTime: m[2]!, host: m[3]!, nonce: m[4]! };
}

/** A holder is alive when its pid exists on this host with the same start time. Other hosts are assumed alive. */
export function isAlive(o: LockOwner): boolean {
  return o.host !== os.hostname() || runsHere(o);
}

/**
 * Whether a process with the holder's pid and start time runs on this machine, whatever host name it wrote
 * (the host name may have changed under a running process). A recreated container's old processes lived in
 * another pid namespace: their pid may exist here, but not with the same start time.
 */
export function runsHere(o: Pick<LockOwner, 'pid' | 'startTime'>): boolean {
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(o.pid);
  if (stat === undefined) return true;
  // A zombie (killed, not yet reaped by its parent) holds nothing any more.
  if (stat[0] === 'Z' || stat[0] === 'X') return false;
  return o.startTime === '-' || stat[19] === o.startTime;
}

function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

// Fields 3… of /proc/PID/stat (state first, start time at index 19 = field 22); the command name
// (field 2) may hold spaces and parentheses, so split after the last ')'. Undefined off Linux.
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
