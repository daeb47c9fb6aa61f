// The NIM container runs as uid 1000: a deployment must be readable by it whatever umask airlock runs with
// (the systemd unit sets UMask=0077).
import t from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { fixturePath, nimCacheProfile } from './helpers/fixtures.js';

const run = promisify(execFile);

t.test('a deployment installed under umask 077 is world-readable and traversable', async (t) => {
  const dir = t.testdir();
  const key = fixturePath('keys/demo_ed25519');
  const trust = fixturePath('keys/allowed_signers.demo');
  const bundle = path.join(dir, 'bundle');
  const store = path.join(dir, 'store');
  const sh = (cmd: string) => run('/bin/sh', ['-c', `umask 077; ${cmd}`], { env: childEnv() });
  await sh(
    `"${process.execPath}" "${AIRLOCK_BIN}" pack "${fixturePath('nim-cache')}" --out "${bundle}" --name test/umask --kind nim-cache --profile ${nimCacheProfile().profile.id} --sign "${key}"`,
  );
  const { stdout } = await sh(`"${process.execPath}" "${AIRLOCK_BIN}" install "${bundle}" --store "${store}" --trust "${trust}" --json`);
  const deployment = (JSON.parse(stdout) as { path: string }).path;

  const unreadable: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const st = await fsp.lstat(p);
    if (st.isSymbolicLink()) return;
    const need = st.isDirectory() ? 0o005 : 0o004;
    if ((st.mode & need) !== need) unreadable.push(`${path.relative(store, p)} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of await fsp.readdir(p)) await walk(path.join(p, n));
  };
  for (let p = deployment; p !== path.dirname(store); p = path.dirname(p)) {
    const st = await fsp.stat(p);
    if ((st.mode & 0o005) !== 0o005) unreadable.push(`${p} ${(st.mode & 0o777).toString(8)}`);
  }
  await walk(deployment);
  t.same(unreadable, [], 'every folder on the way and in the tree is o+rx, every file o+r');
});
