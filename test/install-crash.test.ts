// Crash safety: real installs in a child process killed with SIGKILL at random moments. After each,
// the committed state is the old one or the new one, nothing half-written is visible, the lock does
// not block, recovery leaves a consistent store, and the same install then succeeds.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, watch } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkStore } from '../src/store/check-store.js';
import { repairStore } from '../src/store/recover.js';
import { readState } from '../src/store/state-file.js';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';
import { installCli, makeSigner } from './helpers/store.js';

const run = promisify(execFile);
const TRIALS = 22;
const NAME = 'crash/model';

/** 160 files in 8 folders, about 10 MB, some identical (shared content) and a few symlinks. */
async function makeSource(dir: string): Promise<string> {
  for (let d = 0; d < 8; d++) {
    const folder = path.join(dir, `layer${d}`);
    await fsp.mkdir(folder, { recursive: true });
    for (let i = 0; i < 20; i++) {
      const data = i % 10 === 9 ? Buffer.from(`shared ${i}\n`) : randomBytes(40_000 + (((d * 20 + i) * 7919) % 50_000));
      await fsp.writeFile(path.join(folder, `part-${i}.bin`), data);
    }
    await fsp.symlink('part-0.bin', path.join(folder, 'latest'));
  }
  return dir;
}

/** When to kill: after a delay, or the moment a name appears in (or is renamed into) a folder. */
type KillAt = { afterMs: number } | { when: string; inDir: string };

/** Run `airlock install` and SIGKILL it at `at`; resolves once the child is gone (and reaped). */
function installKilled(bundle: string, store: string, trust: string, at: KillAt): Promise<{ killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AIRLOCK_BIN, 'install', bundle, '--store', store, '--trust', trust], { env: childEnv(), stdio: 'ignore' });
    const kill = () => child.kill('SIGKILL');
    const timer = 'afterMs' in at ? setTimeout(kill, at.afterMs) : undefined;
    const watcher = 'when' in at ? watch(at.inDir, (_event, name) => name === at.when && kill()) : undefined;
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      watcher?.close();
      resolve({ killed: signal === 'SIGKILL' });
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now();
  const out = await fn();
  return [out, Date.now() - start];
}

t.test(`${TRIALS} installs killed with SIGKILL at random moments`, async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const sign = [signer.key.privatePath];
  const source = await makeSource(path.join(dir, 'source'));
  const bundles = {
    dir: await packFixture(t, { source, name: NAME, signKeys: sign, sequence: 4 }),
    tar: await packFixture(t, { source, name: NAME, signKeys: sign, sequence: 4, format: 'tar' }),
  };

  // The old state every trial starts from: three older releases, so the new one also evicts one (retention 2).
  const base = path.join(dir, 'base');
  for (const [i, fixture] of (['model-dir', 'model-store', 'nim-cache'] as const).entries()) {
    const old = await packFixture(t, { fixture, kind: fixture, name: NAME, signKeys: sign, sequence: i + 1 });
    t.equal((await installCli(old.location, base, signer.trust)).exitCode, 0);
  }
  const oldState = await readState(base);
  t.equal(oldState.models[0]!.deployments.length, 3);

  // How long an uninterrupted install takes, so kills spread over all of it.
  const duration: Record<string, number> = {};
  for (const form of ['dir', 'tar'] as const) {
    const scratch = path.join(dir, `time-${form}`);
    await run('cp', ['-a', base, scratch]);
    const [res, ms] = await timed(() => installCli(bundles[form].location, scratch, signer.trust));
    t.equal(res.exitCode, 0, `${form}: an uninterrupted install succeeds`);
    duration[form] = ms;
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  t.comment(`uninterrupted install: dir ${duration.dir} ms, tar ${duration.tar} ms`);

  const outcomes = { old: 0, new: 0, finished: 0 };
  for (let i = 0; i < TRIALS; i++) {
    const form = i % 2 === 0 ? 'dir' : 'tar';
    const bundle = bundles[form];
    const store = path.join(dir, `trial-${i}`);
    await run('cp', ['-a', base, store]);
    // Most kills land at a random moment: trial k of each form in the k-th slice of the install's duration.
    // Every fourth waits for one of the two instants around the commit, which random timing rarely hits:
    // the new tree renamed into deployments/ (before the commit), or state.json replaced (just after it).
    let at: KillAt;
    if (i % 4 === 3)
      at = i % 8 === 3 ? { when: bundle.id, inDir: path.join(store, 'deployments', 'crash_model') } : { when: 'state.json', inDir: store };
    else at = { afterMs: Math.round(((Math.floor(i / 2) + Math.random()) / Math.ceil(TRIALS / 2)) * duration[form]! * 1.1) };
    const { killed } = await installKilled(bundle.location, store, signer.trust, at);
    const delay = 'afterMs' in at ? `${at.afterMs} ms` : `on ${at.when}`;

    const state = await readState(store);
    const current = state.models.find((m) => m.name === NAME)?.deployments[0];
    const isNew = current?.manifestDigest === bundle.manifestDigest;
    if (!isNew) t.same(state, oldState, `trial ${i} (${form}, killed ${delay}): the old state, exactly`);
    outcomes[killed ? (isNew ? 'new' : 'old') : 'finished']++;

    // Before any repair: every committed tree is complete; only leftovers the next run removes may differ.
    const before = await checkStore(store);
    const leftovers = /^(models\/[^/]+\/current|deployments\/[^/]+\/[^/]+)$/;
    t.same(
      before.filter((f) => !leftovers.test(f.path ?? '')),
      [],
      `trial ${i}: nothing half-written is visible`,
    );
    const link = await fsp.realpath(path.join(store, 'models', 'crash_model', 'current'));
    t.ok(
      state.models[0]!.deployments.some((d) => path.join(store, d.dir) === link),
      `trial ${i}: current points at a committed deployment`,
    );

    // Every third trial goes straight to the next install, which must get past the dead holder's lock itself.
    if (i % 3 !== 0) {
      await repairStore(store);
      t.same(await checkStore(store, { deep: true }), [], `trial ${i}: consistent after recovery`);
      t.same(await fsp.readdir(path.join(store, 'staging')), [], `trial ${i}: staging leftovers removed`);
    }

    const again = await installCli(bundle.location, store, signer.trust);
    t.equal(again.exitCode, 0, `trial ${i}: the install then succeeds (no lock in the way) ${again.stderr}`);
    t.equal((await readState(store)).models[0]!.deployments[0]!.manifestDigest, bundle.manifestDigest, `trial ${i}: and is current`);
    t.same(await checkStore(store, { deep: i % 3 === 0 }), [], `trial ${i}: consistent`);
    t.same(await fsp.readdir(path.join(store, 'staging')), [], `trial ${i}: no staging leftovers`);
    await fsp.rm(store, { recursive: true, force: true });
  }
  t.comment(`killed before the commit: ${outcomes.old}, after it: ${outcomes.new}, finished before the kill: ${outcomes.finished}`);
  t.ok(outcomes.old + outcomes.new >= TRIALS / 2, 'most trials were really interrupted');
  t.ok(outcomes.new > 0, 'some after the commit, before the install finished');
});
