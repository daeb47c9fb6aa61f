// The manifest's runtime hints travel as one object (issue 12): manifest → store record → deployment info →
// runtime target. Stores written before that (state v1: the hints as fields of each deployment) are read as v2
// and written as v2 at their next commit; nothing installed is lost on the way.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { RUNTIME_HINT_KEYS } from '../src/format/manifest.js';
import { airlock } from './helpers/cli.js';
import { nimCacheProfile, packFixture } from './helpers/fixtures.js';

const DEMO_KEY = path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519');
const NAME = 'upgrade/model';

type Doc = { schema: string; models: Array<{ deployments: Array<Record<string, unknown>> }> };

/** state.json as airlock wrote it before the hints were one object. */
function asV1(doc: Doc): Doc {
  return {
    ...doc,
    schema: 'airlock.store-state/v1',
    models: doc.models.map((m) => ({
      ...m,
      deployments: m.deployments.map(({ hints, ...rest }) => ({ ...rest, ...(hints as Record<string, unknown>) })),
    })),
  };
}

t.test('a v1 store (hints as fields) is read with its hints and written as v2 at the next commit', async (t) => {
  const store = path.join(t.testdir(), 'store');
  const first = await packFixture(t, { fixture: 'nim-cache', name: NAME, sequence: 1, servedModelName: 'served-one', signKeys: [DEMO_KEY] });
  const install = async (location: string) => {
    const r = await airlock(['install', location, '--store', store, '--trust', DEMO_ALLOWED_SIGNERS]);
    t.equal(r.exitCode, 0, r.stderr);
  };
  await install(first.location);
  const file = path.join(store, 'state.json');
  const v2 = JSON.parse(await readFile(file, 'utf8')) as Doc;
  const hints = { profiles: [nimCacheProfile().profile], servedModelName: 'served-one' };
  t.same(v2.models[0]?.deployments[0]?.['hints'], hints, 'the record holds the manifest hints as one object');
  t.same(Object.keys(hints).sort(), [...RUNTIME_HINT_KEYS].filter((k) => k !== 'modelPath').sort());

  await writeFile(file, JSON.stringify(asV1(v2), null, 2) + '\n');
  const listed = await airlock(['deployments', '--store', store, '--json']);
  t.equal(listed.exitCode, 0, listed.stderr);
  const report = JSON.parse(listed.stdout) as { models: Array<{ current: { hints: unknown } }> };
  t.same(report.models[0]?.current.hints, hints, 'read from a v1 file, the deployment carries its hints');
  t.equal(JSON.parse(await readFile(file, 'utf8')).schema, 'airlock.store-state/v1', 'reading writes nothing');

  const second = await packFixture(t, { fixture: 'nim-cache', name: NAME, sequence: 2, signKeys: [DEMO_KEY] });
  await install(second.location);
  const after = JSON.parse(await readFile(file, 'utf8')) as Doc;
  t.equal(after.schema, 'airlock.store-state/v2', 'the next commit writes v2');
  const kept = after.models[0]?.deployments ?? [];
  t.equal(kept.length, 2, 'both deployments kept');
  t.same(kept[1]?.['hints'], hints, 'the upgraded record keeps its hints');
  t.notOk('servedModelName' in (kept[1] ?? {}), 'and no field of v1 is left beside them');
});
