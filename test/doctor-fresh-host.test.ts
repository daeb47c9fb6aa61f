// A host before its first install has no store yet: doctor must not fail it with "no store … reinstall the
// affected bundles" (the operator's guide runs doctor before the daemon's first start). A store path that exists
// but is not a store still fails.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { airlock } from './helpers/cli.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

/** A host's own key: doctor fails a host that trusts the demo key, whose private half is published. */
function config(dir: string, store: string): string {
  const file = path.join(dir, 'config.json');
  const key = makeKey(path.join(dir, 'keys'), 'release');
  const allowedSigners = writeAllowedSigners(path.join(dir, 'allowed_signers'), [{ principals: 'release@airlock.test', key }]);
  writeFileSync(file, JSON.stringify({ store, trust: { allowedSigners }, runtime: { kind: 'none' } }));
  return file;
}

t.test('doctor on a fresh host: the store does not exist yet, and that is not a failure', async (t) => {
  const dir = t.testdir();
  const r = await airlock(['doctor', '--config', config(dir, 'store')], { cwd: dir });
  t.equal(r.exitCode, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^PASS store: .*store does not exist yet: the daemon creates it/m);
  t.notMatch(r.stdout, /^FAIL/m);
});

t.test('doctor on a store path that is a file still fails', async (t) => {
  const dir = t.testdir({ store: 'not a store' });
  const r = await airlock(['doctor', '--config', config(dir, 'store')], { cwd: dir });
  t.equal(r.exitCode, 1);
  t.match(r.stdout, /^FAIL store: /m);
});
