// The Host rule (issue 11 §5): a DNS-rebinding page reaches the daemon's port under its own name; every request
// whose Host is not one of the daemon's names gets 421 MISDIRECTED_HOST before any route runs.
import path from 'node:path';
import t from 'tap';
import { apiRequest } from '../src/api/client.js';
import { hostAllowed } from '../src/api/host-check.js';
import { registerUi } from '../src/api/ui/index.js';
import { airlock } from './helpers/cli.js';
import { requestWithHost, startInProcess } from './helpers/in-process.js';
import { scratchDir } from './helpers/scratch.js';

t.test('the rule: loopback names and the configured host, with the listening port', async (t) => {
  const tcp = { host: '127.0.0.1', port: 7480 };
  for (const ok of ['localhost:7480', '127.0.0.1:7480', '[::1]:7480', 'LocalHost:7480']) t.ok(hostAllowed(ok, tcp), ok);
  for (const bad of [
    undefined,
    '',
    'evil.example:7480',
    'evil.example',
    'localhost',
    'localhost:7481',
    '127.0.0.1:7480.evil',
    'localhost.:7480',
    '127.0.0.2:7480',
    'localhost:7480@evil',
  ])
    t.notOk(hostAllowed(bad, tcp), String(bad));
  t.ok(hostAllowed('airlock.lan:9000', { host: 'airlock.lan', port: 9000 }), 'the configured api.host');
  t.ok(hostAllowed('[fd00::1]:9000', { host: 'fd00::1', port: 9000 }), 'an IPv6 api.host, bracketed');
  t.ok(hostAllowed('localhost', { host: '127.0.0.1', port: 80 }), 'no port needed on port 80');
  const sock = { socket: '/run/airlock/api.sock' };
  for (const ok of ['localhost', 'localhost:80']) t.ok(hostAllowed(ok, sock), `socket: ${ok}`);
  for (const bad of ['evil.example', '127.0.0.1', undefined]) t.notOk(hostAllowed(bad, sock), `socket: ${String(bad)}`);
});

t.test('a DNS-rebinding Host gets 421 on every route, the status page and the event stream; the usual names work', async (t) => {
  const h = await startInProcess(t, {}, [(app) => registerUi(app)]);
  const port = h.port!;
  const routes: Array<[string, string]> = [
    ['GET', '/v1/status'],
    ['GET', '/v1/bundles'],
    ['GET', '/v1/audit'],
    ['GET', '/v1/events'],
    ['GET', '/'],
    ['GET', '/ui/app.js'],
    ['GET', '/healthz'],
    ['GET', '/metrics'],
    ['GET', '/v1/nothing-here'],
    ['POST', '/v1/bundles/x-1/retry'],
  ];
  for (const [method, route] of routes) {
    const evil = await requestWithHost({ port }, route, `evil.example:${port}`, method);
    t.equal(evil.status, 421, `${method} ${route}`);
    t.equal((JSON.parse(evil.body) as { code: string }).code, 'MISDIRECTED_HOST', `${method} ${route}`);
    t.notMatch(evil.body, /"bundles"|<html|event: /, 'nothing of the daemon in the answer');
  }
  t.equal(h.daemon.hub.size, 0, 'the refused event stream never subscribed');
  t.equal((await requestWithHost({ port }, '/v1/status', `127.0.0.1:${port + 1}`)).status, 421, 'another port is another origin');
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
    t.equal((await requestWithHost({ port }, '/v1/status', host)).status, 200, host);
    t.equal((await requestWithHost({ port }, '/', host)).status, 200, `page via ${host}`);
    const events = await requestWithHost({ port }, '/v1/events', host);
    t.equal(events.status, 200, `events via ${host}`);
  }
  const unauth = await requestWithHost({ port }, '/v1/bundles/x-1/retry', `localhost:${port}`, 'POST');
  t.equal(unauth.status, 401, 'a good Host still needs the token for mutations');
});

t.test('over the unix socket: `localhost` is the name; airlock status works over TCP and over the socket', async (t) => {
  const dir = scratchDir(t);
  const socket = path.join(dir, 'api.sock');
  const s = await startInProcess(t, { api: { socket, tokenFile: path.join(dir, 'tok') } });
  t.equal((await requestWithHost({ socketPath: socket }, '/v1/status', 'localhost')).status, 200);
  const evil = await requestWithHost({ socketPath: socket }, '/v1/status', 'evil.example');
  t.same([evil.status, (JSON.parse(evil.body) as { code: string }).code], [421, 'MISDIRECTED_HOST']);
  t.equal((await apiRequest(s.url, '/v1/bundles')).status, 200, 'the API client over the socket');
  const overSocket = await airlock(['status', '--url', s.url]);
  t.equal(overSocket.exitCode, 0, overSocket.stderr);
  t.match(overSocket.stdout, /no bundles seen yet/);

  const tcp = await startInProcess(t);
  const overTcp = await airlock(['status', '--url', tcp.url, '--json']);
  t.equal(overTcp.exitCode, 0, overTcp.stderr);
  t.match(JSON.parse(overTcp.stdout), { status: { version: 't' }, bundles: [] });
});
