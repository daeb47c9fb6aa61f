// Disk space: a bundle bigger than the store's file system is refused before anything is written
// (INSUFFICIENT_SPACE), and a file system that fills up mid-install ends the same way; both leave
// the store unchanged. Uses a small tmpfs as the store (needs root; skipped where mounting is refused).
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAllowedSigners } from '../src/trust/allowed-signers.js';
import { checkStore } from '../src/store/check-store.js';
import { installBundle } from '../src/ops/install.js';
import { packFixture } from './helpers/fixtures.js';
import { installCli, makeSigner, snapshotStore, tryRun } from './helpers/store.js';

/** A fresh tmpfs of `size`, outside the test folder (tap's folder cleanup cannot remove a mount point); undefined when mounting is refused. */
async function tmpfs(t: Test, size: string): Promise<string | undefined> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'airlock-tmpfs-'));
  if (!(await tryRun('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]))) {
    await fsp.rmdir(dir);
    return undefined;
  }
  t.teardown(async () => {
    await tryRun('umount', [dir]);
    await fsp.rmdir(dir).catch(() => undefined);
  });
  return dir;
}

/** A model directory of `files` random files of `size` bytes each. */
async function bigSource(dir: string, files: number, size: number): Promise<string> {
  await fsp.mkdir(path.join(dir, 'shards'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'config.json'), '{"model_type":"llama"}\n');
  for (let i = 0; i < files; i++) await fsp.writeFile(path.join(dir, 'shards', `shard-${String(i).padStart(3, '0')}.bin`), randomBytes(size));
  return dir;
}

t.test('a bundle bigger than the free space is refused before anything is written', async (t) => {
  const mnt = await tmpfs(t, '2m');
  if (!mnt) return t.plan(0, 'cannot mount a tmpfs here');
  const dir = t.testdir();
  const store = path.join(mnt, 'store');
  const signer = await makeSigner(dir);
  const small = await packFixture(t, { fixture: 'model-dir', signKeys: [signer.key.privatePath], sequence: 1 });
  t.equal((await installCli(small.location, store, signer.trust)).exitCode, 0, 'a small bundle fits');
  const before = await snapshotStore(store);
  const source = await bigSource(path.join(dir, 'big'), 3, 1024 * 1024);
  for (const format of ['dir', 'tar'] as const) {
    const big = await packFixture(t, { source, signKeys: [signer.key.privatePath], sequence: 2, format });
    const res = await installCli(big.location, store, signer.trust);
    t.equal(res.exitCode, 1, `${format}: exit 1`);
    t.equal(res.errorCode, 'INSUFFICIENT_SPACE', `${format}: INSUFFICIENT_SPACE`);
    t.same(await snapshotStore(store), before, `${format}: the store is unchanged`);
  }
});

t.test('the file system filling up mid-install ends with INSUFFICIENT_SPACE and an unchanged store', async (t) => {
  const mnt = await tmpfs(t, '12m');
  if (!mnt) return t.plan(0, 'cannot mount a tmpfs here');
  const dir = t.testdir();
  const store = path.join(mnt, 'store');
  const signer = await makeSigner(dir);
  const allowedSigners = await loadAllowedSigners(signer.trust);
  const small = await packFixture(t, { fixture: 'model-dir', signKeys: [signer.key.privatePath], sequence: 1 });
  await installBundle(small.location, { store, allowedSigners, threshold: 1 });
  const source = await bigSource(path.join(dir, 'big'), 40, 100 * 1024);
  for (const [i, format] of (['dir', 'tar'] as const).entries()) {
    await t.test(`${format} form`, async (t) => {
      const big = await packFixture(t, { source, signKeys: [signer.key.privatePath], sequence: 2 + i, format });
      const before = await snapshotStore(store);
      const filler = path.join(mnt, 'filler');
      let filled = false;
      // Once the payload pass has begun, someone else takes every free byte of the file system.
      const onProgress = (p: { phase: string }) => {
        if (p.phase !== 'payload' || filled) return;
        filled = true;
        const fd = openSync(filler, 'w');
        const chunk = Buffer.alloc(64 * 1024, 1);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        } finally {
          closeSync(fd);
        }
      };
      await t.rejects(installBundle(big.location, { store, allowedSigners, threshold: 1, onProgress }), { code: 'INSUFFICIENT_SPACE' });
      t.ok(filled, 'the disk filled during the payload pass');
      t.same(await snapshotStore(store), before, 'the store is unchanged');
      await fsp.rm(filler);
      const ok = await installBundle(big.location, { store, allowedSigners, threshold: 1 });
      t.equal(ok.status, 'installed', 'with space again the same bundle installs');
      t.same(await checkStore(store, { deep: true }), []);
    });
  }
});
