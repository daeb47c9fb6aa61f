// Rollback protection (ROLLBACK, --allow-downgrade, SEQUENCE_CONFLICT, the same bundle as a no-op),
// the rollback and deployments commands, retention and gc, through the real CLI.
import t from 'tap';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { checkStore } from '../src/store/check-store.js';
import { readState } from '../src/store/state-file.js';
import { airlock } from './helpers/cli.js';
import { schemaProblems } from '../src/util/schemas.js';
import { packFixture } from './helpers/fixtures.js';
import { cliJson, installCli, makeSigner, snapshotStore } from './helpers/store.js';
import type { Manifest } from '../src/format/manifest.js';

const NAME = 'meta/llama-3.1-8b-instruct';

t.test('rollback protection, decided before any payload byte', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const pack = (sequence: number, channel = 'stable') =>
    packFixture(t, { fixture: 'model-dir', signKeys: [signer.key.privatePath], sequence, channel });
  const [s5, s7, s7b, s3] = [await pack(5), await pack(7), await pack(7), await pack(3)];
  t.not(s7.manifestDigest, s7b.manifestDigest, 'two different bundles with sequence 7');

  t.equal((await installCli(s5.location, store, signer.trust)).exitCode, 0);
  t.equal((await installCli(s7.location, store, signer.trust)).exitCode, 0);
  const before = await snapshotStore(store);

  const older = await installCli(s3.location, store, signer.trust);
  t.equal(older.exitCode, 1);
  t.equal(older.errorCode, 'ROLLBACK', 'a lower sequence is refused');
  t.same(await snapshotStore(store), before, 'and nothing changed');

  const conflict = await installCli(s7b.location, store, signer.trust);
  t.equal(conflict.errorCode, 'SEQUENCE_CONFLICT', 'another bundle claiming sequence 7 is refused');
  t.equal((await installCli(s7b.location, store, signer.trust, ['--allow-downgrade'])).errorCode, 'SEQUENCE_CONFLICT', 'even with --allow-downgrade');
  t.same(await snapshotStore(store), before);

  const replay = await installCli(s7.location, store, signer.trust);
  t.equal(replay.exitCode, 0, 'the very same bundle exits 0');
  t.equal(replay.report?.status, 'already-installed');
  const plain = await airlock(['install', s7.location, '--store', store, '--trust', signer.trust]);
  t.equal(plain.exitCode, 0);
  t.match(plain.stdout, /already installed/, 'and says so');
  t.same(await snapshotStore(store), before, 'writing nothing');

  const down = await installCli(s3.location, store, signer.trust, ['--allow-downgrade']);
  t.equal(down.exitCode, 0, '--allow-downgrade installs the older sequence');
  t.equal(down.report?.deployment.current, true);
  const state = await readState(store);
  t.equal(state.sequences.find((s) => s.name === NAME && s.channel === 'stable')?.sequence, 7, 'the highest sequence stays 7');
  t.equal((await installCli((await pack(6)).location, store, signer.trust)).errorCode, 'ROLLBACK', 'so 6 is still a rollback');

  const beta = await installCli((await pack(1, 'beta')).location, store, signer.trust);
  t.equal(beta.exitCode, 0, 'each channel has its own sequence');
  t.same(await checkStore(store, { deep: true }), []);
});

t.test('rollback returns to a kept deployment instantly; deployments lists them', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const ids: string[] = [];
  const paths: string[] = [];
  for (const [i, fixture] of (['nim-cache', 'model-store', 'model-dir'] as const).entries()) {
    const packed = await packFixture(t, { fixture, signKeys: [signer.key.privatePath], sequence: i + 1, name: NAME, kind: fixture });
    const r = await installCli(packed.location, store, signer.trust);
    t.equal(r.exitCode, 0, r.stderr);
    ids.push(packed.id);
    paths.push(r.report!.path);
  }
  const current = path.join(store, 'models', 'meta_llama-3.1-8b-instruct', 'current');
  t.equal(await fsp.realpath(current), paths[2]);

  const list = await cliJson(['deployments', '--store', store, '--json']);
  t.equal(list.res.exitCode, 0);
  t.same(schemaProblems('deployments-report', list.json), [], 'deployments --json matches its schema');
  t.equal(list.json.models[0].current.bundleId, ids[2]);
  t.same(
    list.json.models[0].kept.map((d: { bundleId: string }) => d.bundleId),
    [ids[1], ids[0]],
    'earlier ones, most recent first',
  );

  const back = await cliJson(['rollback', NAME, '--store', store, '--json']);
  t.equal(back.res.exitCode, 0, back.res.stderr);
  t.equal(back.json.deployment.bundleId, ids[1], 'without --to: the previous one');
  t.same(schemaProblems('rollback-report', back.json), [], 'rollback --json matches its schema');
  t.equal(await fsp.realpath(current), paths[1], 'the current pointer moved');

  const to = await cliJson(['rollback', NAME, '--store', store, '--to', ids[0]!, '--json']);
  t.equal(to.json.deployment.bundleId, ids[0], '--to a kept id');
  t.equal(await fsp.realpath(current), paths[0]);
  t.equal((await cliJson(['rollback', NAME, '--store', store, '--to', 'no-such-id'])).res.errorCode, 'NO_SUCH_DEPLOYMENT');
  t.equal((await cliJson(['rollback', 'other/model', '--store', store])).res.errorCode, 'NO_SUCH_DEPLOYMENT');
  const forward = await cliJson(['rollback', NAME, '--store', store, '--to', ids[2]!, '--json']);
  t.equal(forward.json.deployment.bundleId, ids[2], 'and forward again to the newest');
  t.same(await checkStore(store), []);
});

t.test('retention keeps N earlier deployments; gc removes content only they do not reference', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const installs = [];
  for (const [i, fixture] of (['nim-cache', 'model-store', 'model-dir', 'nim-cache'] as const).entries()) {
    const packed = await packFixture(t, { fixture, signKeys: [signer.key.privatePath], sequence: i + 1, name: NAME, kind: fixture });
    const r = await installCli(packed.location, store, signer.trust, ['--retention', '1']);
    t.equal(r.exitCode, 0, r.stderr);
    installs.push({ packed, path: r.report!.path as string, evicted: r.report!.evicted as string[] });
  }
  t.same(installs[2]!.evicted, [installs[0]!.packed.id], 'the third install evicts the first (1 earlier kept)');
  t.same(installs[3]!.evicted, [installs[1]!.packed.id]);
  await t.rejects(fsp.stat(installs[0]!.path), { code: 'ENOENT' }, 'an evicted tree is removed');
  const state = await readState(store);
  t.same(
    state.models[0]!.deployments.map((d) => d.bundleId),
    [installs[3]!.packed.id, installs[2]!.packed.id],
  );

  const blobsBefore = await blobs(store);
  const gc = await cliJson(['gc', '--store', store, '--json']);
  t.equal(gc.res.exitCode, 0, gc.res.stderr);
  t.same(schemaProblems('gc-report', gc.json), [], 'gc --json matches its schema');
  const wanted = new Set<string>();
  for (const d of state.models[0]!.deployments) {
    wanted.add(d.manifestDigest);
    const m = JSON.parse(
      await fsp.readFile(path.join(store, 'content', 'sha256', d.manifestDigest.slice(0, 2), d.manifestDigest), 'utf8'),
    ) as Manifest;
    for (const f of m.files) if (f.type !== 'symlink') wanted.add(f.sha256);
    for (const sig of d.signatures ?? []) wanted.add(sig.sha256); // kept for airlock publish --deployment
  }
  const after = await blobs(store);
  t.same(after, [...wanted].sort(), 'content now holds exactly what the kept deployments reference');
  t.equal(gc.json.removedBlobs, blobsBefore.length - after.length);
  t.ok(gc.json.removedBlobs > 0, 'the model-store bundle left content behind');
  t.same(await checkStore(store, { deep: true }), [], 'kept trees are untouched');
  const again = await cliJson(['gc', '--store', store, '--json']);
  t.equal(again.json.removedBlobs, 0, 'a second gc has nothing to do');
});

async function blobs(store: string): Promise<string[]> {
  const out: string[] = [];
  const root = path.join(store, 'content', 'sha256');
  for (const p of await fsp.readdir(root)) out.push(...(await fsp.readdir(path.join(root, p))));
  return out.sort();
}
