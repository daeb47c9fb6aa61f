// Delta bundles: pack full, install, inventory, pack a delta against it, install the delta, compare
// trees; a blob deleted from the store makes the next delta fail with MISSING_CONTENT naming it.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FileEntry, Manifest } from '../src/format/manifest.js';
import { checkStore } from '../src/store/check-store.js';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { installCli, makeSigner, snapshotStore, treeListing } from './helpers/store.js';

const run = promisify(execFile);

t.test('delta round trip, then MISSING_CONTENT when the store lost a blob', async (t) => {
  const dir = t.testdir();
  const signer = await makeSigner(dir);
  const store = path.join(dir, 'store');
  const sign = [signer.key.privatePath];

  const full = await packFixture(t, { fixture: 'nim-cache', signKeys: sign, sequence: 1 });
  t.equal((await installCli(full.location, store, signer.trust)).exitCode, 0);

  const inventoryFile = path.join(dir, 'inventory.json');
  const inv = await airlock(['inventory', '--store', store, '--out', inventoryFile]);
  t.equal(inv.exitCode, 0, inv.stderr);
  const inventory = JSON.parse(await fsp.readFile(inventoryFile, 'utf8'));
  t.same(schemaProblems('inventory', inventory), [], 'the inventory matches schema/inventory.schema.json');
  t.same(
    inventory.bundles.map((b: { id: string }) => b.id),
    [full.id],
  );
  const stdoutInv = await airlock(['inventory', '--store', store]);
  t.same(JSON.parse(stdoutInv.stdout).content, inventory.content, 'without --out it goes to stdout');

  // The next release: one weight file changed, one file added, the rest unchanged.
  const src = path.join(dir, 'next');
  await run('cp', ['-a', fixturePath('nim-cache'), src]);
  const blobs = path.join(src, 'ngc/hub/models--nim--meta--llama-3_1-8b-instruct/blobs');
  const engine = (await fsp.readdir(blobs)).sort()[0]!;
  await fsp.appendFile(path.join(blobs, engine), 'new engine bytes');
  await fsp.writeFile(path.join(src, 'ngc/hub/README.txt'), 'added in release 2\n');

  for (const [i, format] of (['dir', 'tar'] as const).entries()) {
    await t.test(`${format} form`, async (t) => {
      const delta = await packFixture(t, { source: src, kind: 'nim-cache', signKeys: sign, sequence: 2 + i, against: inventoryFile, format });
      t.ok(delta.totals.omittedFiles > 0, `${delta.totals.omittedFiles} files left out`);
      t.ok(delta.totals.carriedBytes < full.totals.carriedBytes, 'the delta carries less');
      const r = await installCli(delta.location, store, signer.trust);
      t.equal(r.exitCode, 0, r.stderr);
      t.same(await treeListing(r.report!.path), await treeListing(src), 'the installed delta equals the new source tree');
    });
  }
  t.same(await checkStore(store, { deep: true }), []);

  // Lose one blob an omitted file needs, then try a further delta.
  const next = await packFixture(t, { source: src, kind: 'nim-cache', signKeys: sign, sequence: 9, against: inventoryFile });
  const manifest = JSON.parse(await fsp.readFile(path.join(next.location, 'airlock.json'), 'utf8')) as Manifest;
  const omitted = (manifest.files as FileEntry[]).filter((f) => f.omitted);
  const victim = omitted[0]!;
  const sharing = omitted.filter((f) => f.sha256 === victim.sha256).map((f) => f.path);
  const blob = path.join(store, 'content', 'sha256', victim.sha256.slice(0, 2), victim.sha256);
  await fsp.chmod(path.dirname(blob), 0o755);
  await fsp.rm(blob);
  const before = await snapshotStore(store);
  const res = await installCli(next.location, store, signer.trust);
  t.equal(res.exitCode, 1);
  t.equal(res.errorCode, 'MISSING_CONTENT');
  t.same(
    res.report?.error.failures.map((f: { path: string }) => f.path).sort(),
    sharing.sort(),
    'the failure names every file that needs the lost blob',
  );
  t.same(await snapshotStore(store), before, 'and the store is unchanged');
});
