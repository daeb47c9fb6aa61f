// One config discovery for every command (issue 12): right after `npm start`, `airlock doctor` in the same
// folder checks the embedded quick-start setup (runtime none, store ./var/store, demo trust) and passes.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { airlock } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';

t.test('doctor follows the embedded config where npm start runs the daemon', async (t) => {
  const cwd = t.testdir();
  // What the quick-start daemon leaves behind once a demo bundle arrived: ./var/store with a deployment.
  const packed = await packFixture(t, {
    fixture: 'model-dir',
    kind: 'model-dir',
    name: 'demo/tiny-model',
    signKeys: [path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519')],
  });
  mkdirSync(path.join(cwd, 'var'), { recursive: true });
  const install = await airlock(['install', packed.location, '--store', path.join(cwd, 'var', 'store'), '--trust', DEMO_ALLOWED_SIGNERS]);
  t.equal(install.exitCode, 0, install.stderr);
  const doctor = await airlock(['doctor', '--json'], { cwd });
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ status: string; name: string; message: string }> };
  t.equal(doctor.exitCode, 0, JSON.stringify(report.checks.filter((c) => c.status === 'FAIL')));
  t.match(report.checks.find((c) => c.name === 'config')?.message, /embedded quick-start/);
  t.match(report.checks.find((c) => c.name === 'runtime')?.message, /kind "none"/, 'no Docker check for the demo that needs none');
  t.match(
    report.checks.find((c) => c.name === 'store')?.message ?? '',
    new RegExp(path.join(cwd, 'var', 'store').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    'the store the daemon uses',
  );
  t.ok(
    report.checks.some((c) => c.name === 'trust' && c.status === 'PASS'),
    'the demo trust file is checked',
  );
});
