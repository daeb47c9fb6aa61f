// `airlock daemon --port --host --drop --store` for a quick start beside the config, a taken port named with the
// option that changes it, and `airlock status` fitted to the width (cut cells end in …) or whole with --wide.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock, AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { eventually } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';

interface Started {
  child: ChildProcess;
  url: string;
  lines: () => Array<Record<string, unknown>>;
}

/** `airlock daemon ARGS` in `cwd`, resolved once it logs the address it listens on. */
async function startDaemon(t: Test, args: string[], cwd: string): Promise<Started> {
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'daemon', ...args], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await eventually(() => lines().some((l) => typeof l['url'] === 'string') || child.exitCode !== null, 'the daemon to listen', 60_000);
  const listening = lines().find((l) => typeof l['url'] === 'string');
  if (!listening) throw new Error(`the daemon did not start: ${err}`);
  return { child, url: listening['url'] as string, lines };
}

t.test('daemon --port --host --drop --store override the config, once, for a quick start', async (t) => {
  const dir = scratchDir(t);
  const started = await startDaemon(t, ['--port', '0', '--host', '127.0.0.1', '--drop', 'in', '--drop', 'in2', '--store', 'st'], dir);
  t.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(started.url, 'http://127.0.0.1:7480', 'not the config port');
  const listening = started.lines().find((l) => l['url'] === started.url)!;
  t.same(listening['dropFolders'], [path.join(dir, 'in'), path.join(dir, 'in2')], 'the drop folders given, from the working directory');
  t.equal(listening['store'], path.join(dir, 'st'));

  const status = await airlock(['status', '--url', started.url, '--json']);
  t.equal(status.exitCode, 0, status.stderr);
  const doc = JSON.parse(status.stdout);
  t.same(schemaProblems('status-report', doc), [], 'status --json matches schema/status-report.schema.json');
  t.equal(doc.status.config.store, path.join(dir, 'st'));

  // A drop the daemon rejects, so the table has a row with a long DETAIL.
  mkdirSync(path.join(dir, 'in', 'junk-bundle-with-a-rather-long-name'));
  writeFileSync(path.join(dir, 'in', 'junk-bundle-with-a-rather-long-name', 'airlock.json'), '{"not": "a manifest"}');
  const state = async () => JSON.parse((await airlock(['status', '--url', started.url, '--json'])).stdout).bundles[0]?.state;
  await eventually(async () => (await state()) === 'rejected', 'the drop rejected', 60_000);

  const narrow = await airlock(['status', '--url', started.url], { env: { COLUMNS: '60' } });
  t.equal(narrow.exitCode, 0, narrow.stderr);
  const lines = narrow.stdout.trimEnd().split('\n');
  t.same(
    lines.filter((l) => l.length > 60),
    [],
    'COLUMNS=60: no line is longer',
  );
  t.ok(
    lines.some((l) => l.endsWith('…')),
    'cut cells end in …',
  );
  const head = lines.findIndex((l) => l.startsWith('BUNDLE'));
  const row = lines[head + 1] ?? '';
  t.match(row, /^junk-\S*…/, `the bundle's id, cut: ${narrow.stdout}`);
  t.equal(lines[head]!.indexOf('STATE'), row.indexOf('rejected'), 'the columns still line up');

  const wide = await airlock(['status', '--url', started.url, '--wide'], { env: { COLUMNS: '60' } });
  t.ok(
    wide.stdout.split('\n').some((l) => l.length > 60),
    '--wide: every cell whole',
  );
  t.notMatch(wide.stdout, /…$/m);
  const piped = await airlock(['status', '--url', started.url], { env: { COLUMNS: '' } });
  // (the first line holds the uptime, which moves on between the two calls)
  t.same(piped.stdout.split('\n').slice(1), wide.stdout.split('\n').slice(1), 'into a pipe without COLUMNS: nothing is cut');
});

t.test('a taken port: ADDRESS_IN_USE, naming the port and the option', async (t) => {
  const dir = scratchDir(t);
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const res = await airlock(['daemon', '--port', String(port), '--drop', 'in', '--store', 'st'], { cwd: dir });
  t.equal(res.exitCode, 2, 'exit 2: systemd does not restart it for ever');
  t.equal(res.errorCode, 'ADDRESS_IN_USE');
  t.match(res.stderr, `127.0.0.1:${port}`);
  t.match(res.stderr, /port \d+ is already in use.*--port N.*"api": \{"port": N\}/);
});

t.test('daemon flags are checked like any option', async (t) => {
  const dir = scratchDir(t);
  t.equal((await airlock(['daemon', '--port', '70000'], { cwd: dir })).errorCode, 'USAGE', 'a port past 65535');
  t.equal((await airlock(['daemon', '--port', 'http'], { cwd: dir })).errorCode, 'USAGE');
  const config = path.join(dir, 'socket.json');
  writeFileSync(config, JSON.stringify({ store: 'st', trust: { allowedSigners: DEMO_ALLOWED_SIGNERS }, api: { socket: path.join(dir, 'a.sock') } }));
  const socket = await airlock(['daemon', '--config', config, '--port', '7481'], { cwd: dir });
  t.equal(socket.errorCode, 'USAGE');
  t.match(socket.stderr, '--port and --host do not apply');
});
