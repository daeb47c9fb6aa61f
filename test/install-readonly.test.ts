// Read-only sources: install works from a bundle nobody may write to and never writes into it
// (checked by a snapshot with times, since permission bits do not stop root), and from a
// read-only bind mount where the test may make one.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkStore } from '../src/store/check-store.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { installCli, makeSigner, snapshotStore, treeListing, tryRun } from './helpers/store.js';

const run = promisify(execFile);

t.test('a bundle made read-only installs, and is not written to', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  for (const [i, format] of (['dir', 'tar'] as const).entries()) {
    const packed = await packFixture(t, { fixture: 'nim-cache', signKeys: [signer.key.privatePath], sequence: i + 1, format });
    const root = format === 'dir' ? packed.location : packed.out;
    await run('chmod', ['-R', 'a-w', root]);
    const before = await snapshotStore(root, { times: true });
    const res = await installCli(packed.location, store, signer.trust);
    t.equal(res.exitCode, 0, `${format}: installed ${res.stderr}`);
    t.same(await snapshotStore(root, { times: true }), before, `${format}: no file or folder of the bundle was created, changed or touched`);
    t.same(await treeListing(res.report!.path), await treeListing(fixturePath('nim-cache')));
    await run('chmod', ['-R', 'u+w', root]); // so the test folder can be cleaned up without root
  }
  t.same(await checkStore(store, { deep: true }), []);
});

async function readOnlyBind(t: Test, source: string): Promise<string | undefined> {
  const mnt = await fsp.mkdtemp(path.join(os.tmpdir(), 'airlock-ro-'));
  if (!(await tryRun('mount', ['--bind', source, mnt]))) {
    await fsp.rmdir(mnt);
    return undefined;
  }
  t.teardown(async () => {
    await tryRun('umount', [mnt]);
    await fsp.rmdir(mnt).catch(() => undefined);
  });
  if (!(await tryRun('mount', ['-o', 'remount,ro,bind', mnt]))) return undefined;
  return mnt;
}

t.test('a read-only bind mount (as a USB stick mounted ro would be)', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const packs = path.join(dir, 'packs');
  const dirForm = await packFixture(t, { fixture: 'model-store', signKeys: [signer.key.privatePath], sequence: 1, out: path.join(packs, 'bundle') });
  const tarForm = await packFixture(t, {
    fixture: 'model-store',
    signKeys: [signer.key.privatePath],
    sequence: 2,
    split: '8K',
    out: path.join(packs, 'split'),
  });
  const mnt = await readOnlyBind(t, packs);
  if (!mnt) return t.plan(0, 'cannot make a read-only bind mount here');
  await t.rejects(fsp.writeFile(path.join(mnt, 'probe'), 'x'), { code: 'EROFS' }, 'the mount refuses writes, even to root');
  for (const packed of [dirForm, tarForm]) {
    const location = path.join(mnt, path.relative(packs, packed.location));
    const res = await installCli(location, store, signer.trust);
    t.equal(res.exitCode, 0, `${packed.form}: installed from the read-only mount ${res.stderr}`);
    t.same(await treeListing(res.report!.path), await treeListing(fixturePath('model-store')));
  }
  t.same(await checkStore(store, { deep: true }), []);
});
