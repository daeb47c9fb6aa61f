// `airlock install` from every bundle form of every fixture kind: the installed tree equals the source
// byte for byte with its symlinks recreated, the --json report names it, and a second install is a no-op.
import t from 'tap';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { checkStore } from '../src/store/check-store.js';
import { deploymentLister, listDeployments } from '../src/store/deployments.js';
import { schemaProblems } from '../src/util/schemas.js';
import { fixturePath, packFixture, type FixtureName } from './helpers/fixtures.js';
import { imageArchive, installCli, makeSigner, snapshotStore, treeListing } from './helpers/store.js';

const KINDS: FixtureName[] = ['nim-cache', 'model-store', 'model-dir'];
const FORMS = [{ form: 'dir' }, { form: 'tar', format: 'tar' as const }, { form: 'split', split: '8K' }];

t.test('every fixture kind in every form installs as an exact copy of its source', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  let sequence = 1;
  for (const kind of KINDS) {
    for (const f of FORMS) {
      await t.test(`${kind}, ${f.form} form`, async (t) => {
        const packed = await packFixture(t, {
          fixture: kind,
          signKeys: [signer.key.privatePath],
          name: `test/${kind}`,
          sequence: sequence++,
          ...(f.format ? { format: f.format } : {}),
          ...(f.split ? { split: f.split } : {}),
        });
        t.equal(packed.form, f.form);
        const first = await installCli(packed.location, store, signer.trust);
        t.equal(first.exitCode, 0, first.stderr);
        const report = first.report!;
        t.equal(report.status, 'installed');
        t.same(schemaProblems('install-report', report), [], 'the report matches schema/install-report.schema.json');
        t.ok(path.isAbsolute(report.path), '--json gives the absolute deployment path');
        t.equal(report.manifestDigest, packed.manifestDigest);
        t.same(
          await treeListing(report.path),
          await treeListing(fixturePath(kind)),
          'the tree equals the source: types, sizes, sha256, symlink targets',
        );
        const current = path.join(store, 'models', `test_${kind}`, 'current');
        t.equal(await fsp.realpath(current), report.path, 'models/<slug>/current points at it');

        const before = await snapshotStore(store);
        const again = await installCli(packed.location, store, signer.trust);
        t.equal(again.exitCode, 0, 'a repeat install exits 0');
        t.equal(again.report?.status, 'already-installed');
        t.same(schemaProblems('install-report', again.report), []);
        t.equal(again.report?.path, report.path);
        t.same(await snapshotStore(store), before, 'and writes nothing');
      });
    }
  }
  t.same(await checkStore(store, { deep: true }), [], 'the store is consistent, every byte re-hashed');
  const models = await listDeployments(store);
  t.same(
    models.map((m) => m.name),
    KINDS.map((k) => `test/${k}`).sort(),
  );
  for (const m of models) t.equal(m.kept.length, 2, `${m.name}: current plus two earlier kept (default retention)`);
});

t.test('installed trees are plain folders a container user can read and that never point outside', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const packed = await packFixture(t, { fixture: 'nim-cache', signKeys: [signer.key.privatePath] });
  const { report } = await installCli(packed.location, store, signer.trust);
  const root = report!.path as string;
  const listing = await treeListing(root);
  for (const [p, e] of Object.entries(listing)) {
    const st = await fsp.lstat(path.join(root, p));
    if (e.type === 'dir') t.equal(st.mode & 0o777, 0o755, `${p} is 0755`);
    if (e.type === 'file') {
      t.equal(st.mode & 0o444, 0o444, `${p} is world-readable`);
      t.equal(st.mode & 0o222, 0, `${p} is read-only`);
      t.ok(st.nlink >= 2, `${p} is hard-linked from content, not a second copy`);
    }
    if (e.type === 'symlink') {
      t.notOk(path.isAbsolute(e.target!), `${p} is relative`);
      const resolved = await fsp.realpath(path.join(root, p));
      t.ok(resolved.startsWith(root + path.sep), `${p} resolves inside the tree`);
    }
  }
  const staging = await fsp.stat(path.join(store, 'staging'));
  t.equal(staging.mode & 0o777, 0o700, 'staging is private');
  t.same(await fsp.readdir(path.join(store, 'staging')), [], 'and empty after the install');
});

t.test('image archives are stored as content and listed with the deployment', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const img = await imageArchive(dir, 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3');
  for (const format of ['dir', 'tar'] as const) {
    const packed = await packFixture(t, {
      fixture: 'model-store',
      format,
      images: [img.file],
      signKeys: [signer.key.privatePath],
      name: `img/${format}`,
    });
    const { exitCode, report, stderr } = await installCli(packed.location, store, signer.trust);
    t.equal(exitCode, 0, stderr);
    const archives = report!.deployment.imageArchives as Array<{ ref: string; id: string; path: string; sha256: string }>;
    t.equal(archives.length, 1);
    t.equal(archives[0]!.ref, 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3');
    t.equal(archives[0]!.id, img.id);
    t.equal(archives[0]!.path, path.join(store, 'content', 'sha256', archives[0]!.sha256.slice(0, 2), archives[0]!.sha256));
    t.same(await fsp.readFile(archives[0]!.path), await fsp.readFile(img.file), 'the archive byte for byte');
    t.same(report!.deployment.imageRefs, ['nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3']);
    t.notOk(
      Object.keys(await treeListing(report!.path)).some((p) => p.startsWith('images')),
      'images stay out of the model tree',
    );
  }
  t.same(await checkStore(store, { deep: true }), []);
});

t.test("the daemon's deployment list is parsed again only when state.json changed", async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const list = deploymentLister(store);
  t.same(await list(), [], 'nothing installed yet');
  const install = async (sequence: number) => {
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [signer.key.privatePath], name: 'test/lister', sequence });
    t.equal((await installCli(packed.location, store, signer.trust)).exitCode, 0);
  };
  await install(1);
  const first = await list();
  t.equal(first[0]?.current?.sequence, 1);
  t.equal(await list(), first, 'unchanged state: the very same parsed list');
  await install(2);
  const second = await list();
  t.not(second, first);
  t.equal(second[0]?.current?.sequence, 2, 'a commit is seen at once');
  t.equal(second[0]?.kept.length, 1);

  // A damaged state.json is an error each time it is asked for, and the repaired file is read again.
  const stateFile = path.join(store, 'state.json');
  const good = await fsp.readFile(stateFile);
  await fsp.writeFile(stateFile, '{"broken":');
  await t.rejects(list(), { code: 'STORE_INVALID' });
  await t.rejects(list(), { code: 'STORE_INVALID' }, 'still an error when asked again');
  await fsp.writeFile(stateFile, good);
  t.same(await list(), second);
});
