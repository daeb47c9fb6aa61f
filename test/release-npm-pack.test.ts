// The npm package: `npm pack` holds the built CLI and what it reads at run time, and nothing else (no tests,
// benchmarks, CI scripts, fixtures or keys); `npm i ./airlock-VERSION.tgz` installs a CLI that runs.
// Installing needs the npm registry (the dependencies): skipped with the reason offline, failed under CI=true.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

t.test('npm pack: the built CLI, its schemas, page and units; no tests, bench, CI, fixtures or keys', async (t) => {
  t.match(pkg.scripts['prepack'], /tsc -p tsconfig\.json/, 'npm pack builds dist/ first');
  const dir = t.testdir();
  // --ignore-scripts: npm test has just built dist/; the prepack build is the script checked above.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PACKAGE_ROOT, env: childEnv() });
  const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
  for (const required of [
    'package.json',
    'bin/airlock',
    'dist/src/cli/main.js',
    'dist/src/api/ui/index.js',
    'schema/manifest.schema.json',
    'ui/index.html',
    'systemd/airlock.service',
    'LICENSE',
    'README.md',
  ]) {
    t.ok(files.includes(required), `has ${required}`);
  }
  t.same(
    files.filter((f) => /^(test|bench|\.ci|fixtures|src|tools|release)\/|^dist\/(test|bench|tools)\/|\.map$|demo_ed25519|\.tsbuildinfo$/.test(f)),
    [],
    'nothing that must not ship',
  );
});

t.test('npm i ./airlock-VERSION.tgz installs a CLI that runs', async (t) => {
  const dir = t.testdir();
  const env = childEnv();
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: PACKAGE_ROOT, env });
  const reachable = await run('npm', ['ping'], { cwd: dir, env, timeout: 30000 }).then(
    () => true,
    () => false,
  );
  if (!reachable) {
    if (process.env['CI'] === 'true') t.fail('the npm registry is not reachable; CI must install the package');
    else t.pass('npm install', { skip: 'the npm registry is not reachable' });
    return;
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', `./airlock-${pkg.version}.tgz`], { cwd: dir, env, timeout: 300000 });
  const bin = path.join(dir, 'node_modules', '.bin', 'airlock');
  t.equal((await run(bin, ['--version'], { env })).stdout.trim(), `airlock ${pkg.version}`);

  const key = makeKey(dir, 'key');
  const trust = path.join(dir, 'allowed_signers');
  writeAllowedSigners(trust, [{ principals: 'release@example.org', key }]);
  const bundle = await packFixture(t, { source: fixturePath('model-dir'), kind: 'model-dir', name: 'test/npm', signKeys: [key.privatePath] });
  const verified = await run(bin, ['verify', bundle.location, '--trust', trust], { env });
  t.match(verified.stdout, /test\/npm/, 'the installed CLI verifies a bundle');
  const daemon = await run(bin, ['daemon'], { env, cwd: dir }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  t.equal(daemon.code, 2, 'no demo trust file in the package: the quick-start config is a configuration error');
  t.match(daemon.stderr, /CONFIG_INVALID/);
});
