// Issue 11 §3: a store lock left by a process on another host name (a container recreated with a new hostname)
// must never block the store for good. STORE_BUSY says how to clear it; `airlock unlock --store DIR --host NAME`
// clears it only when NAME is the host the lock names, and never while its process runs on this machine.
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { formatOwner, parseOwner, type LockOwner } from '../src/store/lock.js';
import { decideUnlock } from '../src/store/unlock.js';
import { prepareStore } from '../src/store/store-dir.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { airlock, childEnv } from './helpers/cli.js';

const OLD_HOST = 'airlock-7f3c9d2e1a4b';
const lockOf = (store: string) => path.join(store, 'lock');

async function storeLockedBy(t: Test, owner: Partial<LockOwner>): Promise<string> {
  const store = path.join(t.testdir({}), 'store');
  await prepareStore(store);
  await fsp.writeFile(lockOf(store), formatOwner({ pid: 1, startTime: '4242', host: OLD_HOST, nonce: 'aa11', ...owner }));
  return store;
}

/** A real process on this host holding the store's lock until its stdin closes. */
async function liveHolder(t: Test, store: string): Promise<void> {
  const lockModule = pathToFileURL(path.join(PACKAGE_ROOT, 'dist', 'src', 'store', 'lock.js')).href;
  const script = `const { acquireStoreLock } = await import(${JSON.stringify(lockModule)});
const lock = await acquireStoreLock(${JSON.stringify(store)});
process.stdout.write('locked\\n');
process.stdin.resume();
process.stdin.on('end', async () => { await lock.release(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: childEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.stdin.end();
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
}

t.test('a lock left under another host name blocks with STORE_BUSY naming the way to clear it', async (t) => {
  const store = await storeLockedBy(t, {});
  const res = await airlock(['gc', '--store', store]);
  t.equal(res.errorCode, 'STORE_BUSY');
  t.match(res.stderr, `airlock unlock --store ${store} --host ${OLD_HOST}`, 'the message gives the command');
  t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('unlock without --host, or with another host, leaves a foreign lock in place', async (t) => {
  const store = await storeLockedBy(t, {});
  const before = await fsp.readFile(lockOf(store), 'utf8');
  for (const args of [[], ['--host', 'some-other-host'], ['--host', os.hostname()]]) {
    const res = await airlock(['unlock', '--store', store, ...args]);
    t.equal(res.errorCode, 'STORE_BUSY', `refused with ${args.join(' ') || 'no --host'}`);
    t.equal(await fsp.readFile(lockOf(store), 'utf8'), before, 'the lock is untouched');
  }
});

t.test('unlock --host NAME clears a lock from a recreated container, and the store works again', async (t) => {
  const store = await storeLockedBy(t, {});
  await fsp.writeFile(path.join(store, '.tmp-lock-bb22'), formatOwner({ pid: 1, startTime: '4242', host: OLD_HOST, nonce: 'bb22' }));
  const res = await airlock(['unlock', '--store', store, '--host', OLD_HOST, '--json']);
  t.equal(res.exitCode, 0, res.stderr);
  const report = JSON.parse(res.stdout) as { removed: boolean; why: string; tempFilesRemoved: string[] };
  t.equal(report.removed, true);
  t.equal(report.why, 'other-host');
  t.same(report.tempFilesRemoved, ['.tmp-lock-bb22'], 'its half-taken lock goes too');
  await t.rejects(fsp.stat(lockOf(store)), 'the lock is gone');
  t.equal((await airlock(['gc', '--store', store])).exitCode, 0, 'gc takes the store');
  t.equal((await airlock(['unlock', '--store', store])).exitCode, 0, 'an unlocked store: nothing to do, exit 0');
});

t.test('unlock never breaks a live holder on this host, whatever host name its lock names', async (t) => {
  const store = path.join(t.testdir({}), 'store');
  await prepareStore(store);
  await liveHolder(t, store);
  const held = await fsp.readFile(lockOf(store), 'utf8');
  for (const args of [[], ['--host', os.hostname()]]) {
    t.equal((await airlock(['unlock', '--store', store, ...args])).errorCode, 'STORE_BUSY', `refused (${args.join(' ') || 'no --host'})`);
  }
  // The host name changed under the running process: the lock names the old one, the process still runs.
  const renamed = { ...parseOwner(held)!, host: OLD_HOST };
  await fsp.writeFile(lockOf(store), formatOwner(renamed));
  t.equal((await airlock(['unlock', '--store', store, '--host', OLD_HOST])).errorCode, 'STORE_BUSY', 'refused: same pid and start time run here');
  t.equal(await fsp.readFile(lockOf(store), 'utf8'), formatOwner(renamed), 'the lock is untouched');
  await fsp.writeFile(lockOf(store), held);
});

t.test('unlock clears a lock whose holder on this host is gone', async (t) => {
  const store = await storeLockedBy(t, { host: os.hostname(), pid: 2 ** 22 + 11 });
  const res = await airlock(['unlock', '--store', store, '--json']);
  t.equal(res.exitCode, 0, res.stderr);
  t.equal((JSON.parse(res.stdout) as { why: string }).why, 'dead-here');
});

t.test('the unlock decision (pure)', async (t) => {
  const here = { host: 'now-host', runsHere: (o: LockOwner) => o.pid === 7 };
  const text = (o: Partial<LockOwner>) => formatOwner({ pid: 9, startTime: '100', host: 'old-host', nonce: 'ab', ...o });
  t.same(decideUnlock('/s', undefined, undefined, here), { action: 'none' });
  t.same(decideUnlock('/s', 'garbage', undefined, here), { action: 'remove', why: 'unreadable' });
  t.same(decideUnlock('/s', text({ host: 'now-host' }), undefined, here), { action: 'remove', why: 'dead-here' });
  t.equal(decideUnlock('/s', text({ host: 'now-host', pid: 7 }), 'now-host', here).action, 'refuse', 'live here');
  t.equal(decideUnlock('/s', text({ pid: 7 }), 'old-host', here).action, 'refuse', 'live here under an old name');
  t.equal(decideUnlock('/s', text({}), undefined, here).action, 'refuse', 'foreign, not confirmed');
  t.equal(decideUnlock('/s', text({}), 'other', here).action, 'refuse', 'foreign, wrong host confirmed');
  t.same(decideUnlock('/s', text({}), 'old-host', here), { action: 'remove', why: 'other-host' });
});
