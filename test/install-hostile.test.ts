// Every hostile bundle of the format, fed to `airlock install`, exits 1 with its code and leaves the
// store exactly as it was: same paths, types, sizes, modes, inodes, link targets and state.json bytes.
import t from 'tap';
import path from 'node:path';
import { checkStore } from '../src/store/check-store.js';
import { schemaProblems } from '../src/util/schemas.js';
import { defaultFiles, manifestFor, writeDirBundle } from './helpers/bundle-builder.js';
import { packFixture } from './helpers/fixtures.js';
import { hostileCases, type HostileContext } from './helpers/hostile.js';
import { installCli, snapshotStore } from './helpers/store.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

t.test('hostile bundles change nothing in the store', async (t) => {
  const dir = t.testdir();
  const keys = path.join(dir, 'keys');
  const ctx: HostileContext = { trusted: makeKey(keys, 'trusted'), untrusted: makeKey(keys, 'untrusted') };
  const trust = writeAllowedSigners(path.join(keys, 'allowed_signers'), [{ principals: 'release@airlock.test', key: ctx.trusted }]);
  const store = path.join(dir, 'store');

  // The store holds a real fixture and an older release of the hostile bundles' own model, so each
  // hostile bundle is an upgrade that reaches the payload pass instead of stopping at rollback protection.
  const fixture = await packFixture(t, { fixture: 'nim-cache', signKeys: [ctx.trusted.privatePath] });
  t.equal((await installCli(fixture.location, store, trust)).exitCode, 0);
  const older = path.join(dir, 'older');
  const files = defaultFiles();
  await writeDirBundle(older, { files, manifest: manifestFor(files, { id: 'test-bundle-0', sequence: 0 }), signers: [ctx.trusted] });
  const first = await installCli(older, store, trust);
  t.equal(first.exitCode, 0, first.stderr);
  const before = await snapshotStore(store);

  const cases = hostileCases();
  t.ok(cases.length >= 25, `${cases.length} hostile cases`);
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async (t) => {
      const location = await c.build(path.join(dir, `case-${i}`), ctx);
      const res = await installCli(location, store, trust, c.threshold ? ['--threshold', String(c.threshold)] : []);
      t.equal(res.exitCode, 1, 'exit 1');
      t.equal(res.errorCode, c.code, `rejected with ${c.code}`);
      t.equal(res.report?.ok, false, '--json reports the failure');
      t.equal(res.report?.error.code, c.code);
      t.same(schemaProblems('install-report', res.report), [], 'as schema/install-report.schema.json says');
      t.same(await snapshotStore(store), before, 'deployments, pointers, content and state.json unchanged');
    });
  }
  t.same(await checkStore(store, { deep: true }), []);
});
