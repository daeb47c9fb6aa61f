// One config discovery for every command (issue 12): --config FILE, else $AIRLOCK_CONFIG, else the system config
// when it exists, else the embedded quick-start config. The daemon, doctor, deploy, stop and status all follow it,
// and each says which config it used.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { apiUrl, chooseConfig } from '../src/config/discover.js';
import { airlock } from './helpers/cli.js';
import { startTestDaemon, testConfig } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';

t.test('the order: --config, then AIRLOCK_CONFIG, then the system config when it exists, then the embedded one', async (t) => {
  const exists = (p: string) => p === '/etc/airlock/config.json';
  t.same(chooseConfig('a.json', { AIRLOCK_CONFIG: 'b.json' }, exists), { origin: '--config', file: 'a.json' });
  t.same(chooseConfig(undefined, { AIRLOCK_CONFIG: 'b.json' }, exists), { origin: 'AIRLOCK_CONFIG', file: 'b.json' });
  t.same(
    chooseConfig(undefined, { AIRLOCK_CONFIG: '' }, exists),
    { origin: 'system', file: '/etc/airlock/config.json' },
    'an empty variable is unset',
  );
  t.same(chooseConfig(undefined, {}, exists), { origin: 'system', file: '/etc/airlock/config.json' });
  t.same(
    chooseConfig(undefined, {}, () => false),
    { origin: 'embedded' },
  );
  t.same(
    chooseConfig(undefined, { AIRLOCK_SYSTEM_CONFIG: '/opt/x.json' }, (p) => p === '/opt/x.json'),
    { origin: 'system', file: '/opt/x.json' },
  );
});

t.test("status asks the daemon its config's api section names", async (t) => {
  t.equal(apiUrl({ host: '127.0.0.1', port: 7480 }, 'c'), 'http://127.0.0.1:7480');
  t.equal(apiUrl({ host: '::1', port: 7480 }, 'c'), 'http://[::1]:7480');
  t.equal(apiUrl({ host: '0.0.0.0', port: 7480 }, 'c'), 'http://127.0.0.1:7480', 'every address answers on loopback');
  t.equal(apiUrl({ host: '127.0.0.1', port: 7480, socket: '/run/airlock/api.sock' }, 'c'), 'unix:/run/airlock/api.sock');
  t.throws(() => apiUrl({ host: '127.0.0.1', port: 0 }, 'c'), { code: 'USAGE' }, 'a port chosen at start-up cannot be known');
});

t.test('daemon, status, doctor, deploy and stop all follow AIRLOCK_CONFIG and say so', async (t) => {
  const dir = scratchDir(t);
  const socket = path.join(dir, 'api.sock');
  const d = await startTestDaemon(t, { dir, config: { api: { socket, tokenFile: path.join(dir, 'api-token') } }, configFromEnv: true });
  const env = { AIRLOCK_CONFIG: d.configFile };
  const said = d.lines().find((l) => l.msg.startsWith('config: '));
  t.match(said, { origin: 'AIRLOCK_CONFIG', config: d.configFile }, 'the daemon logs the config it found');
  t.equal(d.url, `unix:${socket}`, 'and runs it');

  const status = await airlock(['status'], { env });
  t.equal(status.exitCode, 0, status.stderr);
  t.match(status.stderr, `airlock: config ${d.configFile} (from AIRLOCK_CONFIG): API unix:${socket}`);
  t.match(status.stdout, `at unix:${socket}`, 'status reached the daemon of that config');
  const json = await airlock(['status', '--json'], { env });
  t.equal(JSON.parse(json.stdout).url, `unix:${socket}`);
  t.equal(json.stderr, '', '--json keeps stderr quiet');
  const both = await airlock(['status', '--config', d.configFile, '--url', 'http://127.0.0.1:9']);
  t.equal(both.errorCode, 'USAGE', '--url and --config together name two daemons');

  const doctor = await airlock(['doctor', '--json'], { env });
  const checks = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; message: string }> };
  t.match(checks.checks.find((c) => c.name === 'config')?.message, `${d.configFile} (from AIRLOCK_CONFIG)`, 'doctor checks that config');
  t.match(checks.checks.find((c) => c.name === 'store')?.message, d.store, 'and its store');

  const deploy = await airlock(['deploy', 'some/model'], { env });
  t.equal(deploy.errorCode, 'CONFIG_INVALID', 'runtime none: nothing to start');
  t.match(deploy.stderr, `${d.configFile} (from AIRLOCK_CONFIG)`, 'deploy names the config');

  const stop = await airlock(['stop', 'some/model'], { env: { ...env, DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}` } });
  t.match(stop.stderr, `airlock: config ${d.configFile} (from AIRLOCK_CONFIG)`, 'stop names the config');
  t.equal(stop.errorCode, 'DOCKER_UNREACHABLE');

  const system = path.join(dir, 'system.json');
  writeFileSync(system, JSON.stringify(testConfig(dir, { api: { socket, tokenFile: path.join(dir, 'api-token') } })));
  const fromSystem = await airlock(['status'], { env: { AIRLOCK_SYSTEM_CONFIG: system } });
  t.equal(fromSystem.exitCode, 0, fromSystem.stderr);
  t.match(fromSystem.stderr, `airlock: config ${system} (the system config)`, 'the system config when nothing else is named');
  t.equal((await d.stop()).code, 0);
});

t.test('doctor reads the config as the daemon does: a FIFO where it should be is a FAIL line, never a hang', async (t) => {
  const dir = t.testdir();
  const fifo = path.join(dir, 'config.json');
  execFileSync('mkfifo', [fifo]);
  const doctor = await airlock(['doctor', '--json', '--config', fifo], { timeoutMs: 30_000 });
  t.not(doctor.exitCode, 124, 'doctor did not wait on the FIFO');
  t.equal(doctor.exitCode, 1);
  const config = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; message: string }> }).checks.find(
    (c) => c.name === 'config',
  );
  t.match(config, { status: 'FAIL', message: /not a regular file|FIFO/ });
});
