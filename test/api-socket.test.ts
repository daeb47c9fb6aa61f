// The unix socket is never looser than 0660 (issue 11 §3): it is created under a restrictive umask, so even
// the moment between bind(2) and chmod gives nobody else a way in, whatever umask the daemon was started with.
import { statSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { apiRequest } from '../src/api/client.js';
import { listenApi, SOCKET_MODE } from '../src/api/listen.js';
import { scratchDir } from './helpers/scratch.js';

t.test('a daemon started with umask 000 creates its socket 0600, then makes it 0660; the umask is restored', async (t) => {
  const socket = path.join(scratchDir(t), 'api.sock');
  const app = Fastify();
  app.get('/healthz', async () => ({ status: 'ok' }));
  t.teardown(() => app.close());
  const before = process.umask(0o000);
  t.teardown(() => void process.umask(before));
  // 'listening' is emitted right after bind, before listen resolves and before the chmod: the socket as created.
  let created: number | undefined;
  let umaskAtBind: number | undefined;
  app.server.once('listening', () => {
    created = statSync(socket).mode & 0o777;
    umaskAtBind = process.umask();
    process.umask(umaskAtBind);
  });
  const url = await listenApi(app, { host: '127.0.0.1', port: 0, socket });
  t.equal(url, `unix:${socket}`);
  t.equal(created, 0o600, 'no group or other bits at creation');
  t.equal(umaskAtBind, 0o177);
  t.equal(statSync(socket).mode & 0o777, SOCKET_MODE, 'then 0660, as the operators group needs');
  t.equal(process.umask(), 0o000, 'the process umask is back to what it was');
  t.equal((await apiRequest(url, '/healthz')).status, 200);
});

t.test('a file (not a socket) at api.socket is refused with CONFIG_INVALID, left in place', async (t) => {
  const dir = t.testdir({ 'api.sock': 'not a socket' });
  const app = Fastify();
  t.teardown(() => app.close());
  await t.rejects(listenApi(app, { host: '127.0.0.1', port: 0, socket: path.join(dir, 'api.sock') }), { code: 'CONFIG_INVALID' });
  t.ok(statSync(path.join(dir, 'api.sock')).isFile());
});
