// installBundle called directly: progress phases, abort, the store lock, decisions taken from the
// manifest before any payload byte, executables, the hard-link fallback, and foreign folders.
import t, { type Test } from 'tap';
import { promises as fsp } from 'node:fs';
import os, { hostname } from 'node:os';
import path from 'node:path';
import { parseManifest } from '../src/format/manifest.js';
import { checkStore } from '../src/store/check-store.js';
import { installBundle, type InstallProgress } from '../src/ops/install.js';
import { acquireStoreLock, formatOwner } from '../src/store/lock.js';
import { buildTree } from '../src/store/tree-builder.js';
import { loadAllowedSigners } from '../src/trust/allowed-signers.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { fileSha256, makeSigner, snapshotStore, tryRun } from './helpers/store.js';

async function setup(t: Test) {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const allowedSigners = await loadAllowedSigners(signer.trust);
  const store = path.join(dir, 'store');
  const pack = (opts: Parameters<typeof packFixture>[1] = {}) =>
    packFixture(t, { fixture: 'nim-cache', signKeys: [signer.key.privatePath], ...opts });
  return { dir, signer, allowedSigners, store, pack, opts: { store, allowedSigners, threshold: 1 } };
}

t.test('progress: signatures, then payload bytes up to the total, then activating', async (t) => {
  const s = await setup(t);
  const packed = await s.pack({ sequence: 1 });
  const events: InstallProgress[] = [];
  const r = await installBundle(packed.location, { ...s.opts, onProgress: (p) => events.push({ ...p }) });
  t.equal(r.status, 'installed');
  t.same([...new Set(events.map((e) => e.phase))], ['signatures', 'payload', 'activating']);
  const payload = events.filter((e) => e.phase === 'payload');
  t.ok(
    payload.every((e, i) => i === 0 || e.bytesDone >= payload[i - 1]!.bytesDone),
    'bytes only grow',
  );
  t.equal(payload.at(-1)!.bytesDone, packed.totals.carriedBytes, 'every carried byte counted once');
  t.equal(r.bytesVerified, packed.totals.carriedBytes);
  t.equal(r.deployment.current, true);
  t.equal(r.path, path.join(s.store, 'deployments', 'meta_llama-3.1-8b-instruct', packed.id));
});

t.test('abort: the signal stops the install and the store is unchanged', async (t) => {
  const s = await setup(t);
  await installBundle((await s.pack({ sequence: 1 })).location, s.opts);
  const before = await snapshotStore(s.store);
  for (const format of ['dir', 'tar'] as const) {
    const ac = new AbortController();
    const onProgress = (p: InstallProgress) => p.phase === 'payload' && ac.abort();
    await t.rejects(
      installBundle((await s.pack({ sequence: 2, format })).location, { ...s.opts, signal: ac.signal, onProgress }),
      { code: 'ABORTED' },
      format,
    );
    t.same(await snapshotStore(s.store), before, `${format}: nothing changed, staging removed`);
  }
});

t.test('one install at a time; a dead holder never blocks', async (t) => {
  const s = await setup(t);
  const first = await s.pack({ sequence: 1 });
  await installBundle(first.location, s.opts);
  const second = await s.pack({ sequence: 2 });
  const lock = await acquireStoreLock(s.store);
  await t.rejects(installBundle(second.location, s.opts), { code: 'STORE_BUSY' }, 'a live holder: STORE_BUSY');
  await lock.release();

  const lockFile = path.join(s.store, 'lock');
  await fsp.writeFile(lockFile, formatOwner({ pid: 2 ** 22 + 11, startTime: '1', host: hostname(), nonce: 'dead' }));
  const r = await installBundle(second.location, s.opts);
  t.equal(r.status, 'installed', 'a lock left by a dead process is taken over');
  await t.rejects(fsp.stat(lockFile), { code: 'ENOENT' }, 'and released afterwards');

  await fsp.writeFile(lockFile, formatOwner({ pid: process.pid, startTime: 'not-my-start-time', host: hostname(), nonce: 'recycled' }));
  t.equal((await installBundle((await s.pack({ sequence: 3 })).location, s.opts)).status, 'installed', 'a recycled pid is not the holder');
});

t.test('signatures, rollback protection and delta content are decided before any payload byte', async (t) => {
  const s = await setup(t);
  await installBundle((await s.pack({ sequence: 5 })).location, s.opts);
  // Each bundle's payload is also corrupt; the code shows which check came first.
  const corrupt = async (location: string) => {
    const m = parseManifest(await fsp.readFile(path.join(location, 'airlock.json')));
    const f = m.files.find((e) => e.type !== 'symlink' && !('omitted' in e && e.omitted))!;
    const file = path.join(location, 'payload', f.path);
    await fsp.appendFile(file, 'tampered');
    return location;
  };
  const untrusted = await makeSigner(path.join(s.dir, 'other'), 'stranger');
  const strangers = await packFixture(t, { fixture: 'nim-cache', signKeys: [untrusted.key.privatePath], sequence: 9 });
  await t.rejects(installBundle(await corrupt(strangers.location), s.opts), { code: 'UNTRUSTED_SIGNER' });
  await t.rejects(installBundle(await corrupt((await s.pack({ sequence: 4 })).location), s.opts), { code: 'ROLLBACK' });

  const inventory = path.join(s.dir, 'inventory.json');
  const { buildInventory } = await import('../src/store/inventory.js');
  await fsp.writeFile(inventory, JSON.stringify(await buildInventory(s.store)));
  const next = path.join(s.dir, 'next');
  await fsp.cp(fixturePath('nim-cache'), next, { recursive: true, verbatimSymlinks: true });
  await fsp.writeFile(path.join(next, 'added.txt'), 'new in this release\n');
  const delta = await packFixture(t, { source: next, kind: 'nim-cache', signKeys: [s.signer.key.privatePath], sequence: 6, against: inventory });
  const m = parseManifest(await fsp.readFile(path.join(delta.location, 'airlock.json')));
  const omitted = m.files.find((e) => e.type !== 'symlink' && e.omitted);
  t.ok(omitted, 'the delta leaves files out');
  const sha = (omitted as { sha256: string }).sha256;
  await fsp.rm(path.join(s.store, 'content', 'sha256', sha.slice(0, 2), sha));
  await t.rejects(installBundle(await corrupt(delta.location), s.opts), { code: 'MISSING_CONTENT' });
});

t.test('executables are copied with mode 0555; everything else is linked 0444', async (t) => {
  const s = await setup(t);
  const src = path.join(s.dir, 'src');
  await fsp.mkdir(path.join(src, 'bin'), { recursive: true });
  await fsp.writeFile(path.join(src, 'config.json'), '{}\n');
  await fsp.writeFile(path.join(src, 'bin', 'serve.sh'), '#!/bin/sh\necho serving\n', { mode: 0o755 });
  const packed = await packFixture(t, { source: src, signKeys: [s.signer.key.privatePath], sequence: 1 });
  const r = await installBundle(packed.location, s.opts);
  const exe = await fsp.stat(path.join(r.path, 'bin', 'serve.sh'));
  const m = parseManifest(await fsp.readFile(path.join(packed.location, 'airlock.json')));
  if (m.files.some((f) => f.type !== 'symlink' && f.mode === '0755')) {
    t.equal(exe.mode & 0o777, 0o555, 'the executable keeps its x bits, read-only');
    t.equal(exe.nlink, 1, 'as its own copy, so content stays 0444');
  } else t.comment('pack did not record the executable bit; nothing to check');
  t.equal((await fsp.stat(path.join(r.path, 'config.json'))).mode & 0o777, 0o444);
  t.same(await checkStore(s.store, { deep: true }), []);
});

t.test('where hard links are refused (EXDEV), files are copied and the result says so', async (t) => {
  const mnt = await fsp.mkdtemp(path.join(os.tmpdir(), 'airlock-xdev-'));
  if (!(await tryRun('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]))) {
    await fsp.rmdir(mnt);
    return t.plan(0, 'cannot mount a tmpfs here');
  }
  t.teardown(async () => {
    await tryRun('umount', [mnt]);
    await fsp.rmdir(mnt).catch(() => undefined);
  });
  const dir = t.testdir();
  const src = fixturePath('model-dir');
  const manifest = parseManifest(await fsp.readFile(path.join((await packFixture(t, { fixture: 'model-dir' })).location, 'airlock.json')));
  // Blobs on the tmpfs, the tree on the test's file system: link(2) fails with EXDEV.
  const bySha = new Map<string, string>();
  for (const f of manifest.files) {
    if (f.type === 'symlink') continue;
    const blob = path.join(mnt, f.sha256);
    await fsp.copyFile(path.join(src, f.path), blob);
    bySha.set(f.sha256, blob);
  }
  const result = await buildTree(path.join(dir, 'tree'), manifest, (sha) => bySha.get(sha)!);
  t.equal(result.fallbackCopies, result.files, 'every file copied');
  for (const f of manifest.files) {
    if (f.type === 'symlink') continue;
    const file = path.join(dir, 'tree', f.path);
    t.equal(await fileSha256(file), f.sha256, `${f.path} copied intact`);
    t.equal((await fsp.stat(file)).mode & 0o777, 0o444);
  }
});

t.test('a folder that is not a store is refused and left alone', async (t) => {
  const s = await setup(t);
  const foreign = path.join(s.dir, 'home');
  await fsp.mkdir(foreign);
  await fsp.writeFile(path.join(foreign, 'notes.txt'), 'mine\n');
  await t.rejects(installBundle((await s.pack({ sequence: 1 })).location, { ...s.opts, store: foreign }), { code: 'STORE_INVALID' });
  t.same(await fsp.readdir(foreign), ['notes.txt']);
});

t.test('a repeat install finishes what a crash left behind (stale pointer, dead lock) and is still a no-op', async (t) => {
  const s = await setup(t);
  const first = await installBundle((await s.pack({ sequence: 1 })).location, s.opts);
  const second = await s.pack({ sequence: 2 });
  await installBundle(second.location, s.opts);
  // As if killed right after the commit: the pointer still names the old tree, the lock names a dead process.
  const current = path.join(s.store, 'models', 'meta_llama-3.1-8b-instruct', 'current');
  await fsp.rm(current);
  await fsp.symlink(path.relative(path.dirname(current), first.path), current);
  await fsp.writeFile(path.join(s.store, 'lock'), formatOwner({ pid: 2 ** 22 + 13, startTime: '1', host: hostname(), nonce: 'gone' }));
  t.not((await checkStore(s.store)).length, 0, 'the check sees the stale pointer');
  const again = await installBundle(second.location, s.opts);
  t.equal(again.status, 'already-installed');
  t.equal(await fsp.realpath(current), again.path, 'the pointer is repaired');
  t.same(await checkStore(s.store), []);
  const before = await snapshotStore(s.store);
  t.equal((await installBundle(second.location, s.opts)).status, 'already-installed');
  t.same(await snapshotStore(s.store), before, 'on a sound store the no-op writes nothing');
});
