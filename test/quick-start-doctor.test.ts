// The quick start as a new user runs it (issue 12): `npm start` in a checkout, a demo bundle dropped into ./var/drop,
// then `airlock doctor` and `airlock status` in the same folder. Both follow the config `npm start` used (the
// embedded quick-start config): doctor checks ./var/store, the demo trust file and runtime none, and passes; status
// finds the daemon on its default API. The daemon runs in a network namespace of its own (unshare -n, loopback
// only), so its fixed port 7480 cannot collide with anything else on the machine, and the demo needs no network.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const CI = process.env['CI'] === 'true';
const DEMO_KEY = path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519');

function unavailable(t: Test): boolean {
  const reason =
    process.getuid?.() !== 0
      ? 'needs root (unshare -n)'
      : spawnSync('unshare', ['-n', 'true']).status !== 0
        ? 'unshare -n is not available'
        : undefined;
  if (!reason) return false;
  if (CI) t.fail(`under CI=true this must run: ${reason}`);
  else t.pass('quick start in a network namespace', { skip: reason });
  return true;
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('right after npm start, airlock doctor checks the demo setup and passes, and status finds the daemon', async (t) => {
  if (unavailable(t)) return;
  // A checkout as `npm start` sees it: package.json and bin/ (the CLI resolves its own files through the link).
  const checkout = scratchDir(t);
  copyFileSync(path.join(PACKAGE_ROOT, 'package.json'), path.join(checkout, 'package.json'));
  symlinkSync(path.join(PACKAGE_ROOT, 'bin'), path.join(checkout, 'bin'));

  const env = childEnv({ npm_config_update_notifier: 'false', npm_config_fund: 'false' });
  const npm = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec npm start'], {
    cwd: checkout,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let logs = '';
  npm.stdout!.setEncoding('utf8').on('data', (c: string) => (logs += c));
  npm.stderr!.setEncoding('utf8').on('data', (c: string) => (logs += c));
  const exited = once(npm, 'exit');
  t.teardown(async () => {
    if (npm.exitCode === null && npm.signalCode === null) {
      process.kill(-npm.pid!, 'SIGKILL');
      await exited;
    }
  });
  const inside = (args: string[]) =>
    spawnSync('nsenter', ['-t', String(npm.pid), '-n', process.execPath, path.join(checkout, 'bin', 'airlock'), ...args], {
      cwd: checkout,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
  await until('the daemon to watch ./var/drop', () => logs.includes('watching for bundles') || npm.exitCode !== null);
  t.equal(npm.exitCode, null, `npm start is running: ${logs.slice(-2000)}`);

  const packed = await packFixture(t, { fixture: 'model-dir', kind: 'model-dir', name: 'demo/tiny-model', signKeys: [DEMO_KEY] });
  const drop = path.join(checkout, 'var', 'drop');
  mkdirSync(drop, { recursive: true });
  cpSync(packed.location, path.join(drop, 'tiny'), { recursive: true });
  const state = path.join(checkout, 'var', 'store', 'state.json');
  await until('the demo bundle installed', () => existsSync(state) && readFileSync(state, 'utf8').includes('demo/tiny-model'), 120_000);

  const doctor = inside(['doctor', '--json']);
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ status: string; name: string; message: string }> };
  t.equal(doctor.status, 0, JSON.stringify(report.checks.filter((c) => c.status === 'FAIL')));
  t.match(report.checks.find((c) => c.name === 'config')?.message, /embedded quick-start/, 'the config npm start runs');
  t.match(report.checks.find((c) => c.name === 'runtime')?.message, /kind "none"/, 'no Docker check for the demo that needs none');
  t.match(report.checks.find((c) => c.name === 'store')?.message, `${path.join(checkout, 'var', 'store')} is consistent`, "the daemon's store");
  t.match(
    report.checks.find((c) => c.name === 'trust'),
    { status: 'PASS', message: DEMO_ALLOWED_SIGNERS },
    'the demo trust file',
  );
  t.match(
    report.checks.find((c) => c.name === 'deployment demo/tiny-model'),
    { status: 'PASS' },
    'the demo deployment',
  );

  const status = inside(['status']);
  t.equal(status.status, 0, status.stderr);
  t.match(status.stderr, 'airlock: config the embedded quick-start config', 'status says which config');
  t.match(status.stdout, /config embedded/, 'and reached the daemon npm start runs');
  t.match(status.stdout, 'demo/tiny-model');

  process.kill(-npm.pid!, 'SIGTERM');
  await exited;
});
