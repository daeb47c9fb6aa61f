// The daemon configuration: defaults merged once, relative paths against the config file, unknown keys named.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS, defaultConfig } from '../src/config/defaults.js';
import { configFromDocument, loadDaemonConfig } from '../src/config/load-config.js';
import { mergeDocuments } from '../src/config/merge.js';
import { type AirlockError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';

const minimal = { store: 'store', trust: { allowedSigners: 'allowed_signers' } };

t.test('a minimal file gets every default, paths resolved against its folder', async (t) => {
  const c = configFromDocument(minimal, '/etc/airlock', 'config.json');
  t.equal(c.store, '/etc/airlock/store');
  t.equal(c.trust.allowedSigners, '/etc/airlock/allowed_signers');
  t.equal(c.trust.threshold, 1);
  t.same(c.mediaRoots, ['/media', '/run/media', '/mnt']);
  t.same(c.dropFolders, []);
  t.equal(c.quietPeriodMs, 3000);
  t.match(c.api, { host: '127.0.0.1', port: 7480, tokenFile: '/etc/airlock/api-token' });
  t.equal(c.api.socket, undefined);
  t.equal(c.removeAfterInstall, false);
  t.equal(c.runtime.kind, 'none');
});

t.test('given keys override defaults; nested objects merge key by key; arrays replace', async (t) => {
  const c = configFromDocument(
    { ...minimal, dropFolders: ['/srv/drop', 'rel'], mediaRoots: ['/media'], api: { port: 9000, socket: 'run/api.sock' }, quietPeriodMs: 10 },
    '/cfg',
    'x',
  );
  t.same(c.dropFolders, ['/srv/drop', '/cfg/rel']);
  t.same(c.mediaRoots, ['/media']);
  t.match(c.api, { host: '127.0.0.1', port: 9000, socket: '/cfg/run/api.sock' });
  t.equal(c.quietPeriodMs, 10);
  t.same(mergeDocuments({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { c: 3 }, d: [9] }), { a: { b: 1, c: 3 }, d: [9] });
  t.equal(defaultConfig.quietPeriodMs, 3000, 'defaults are not mutated by a merge');
});

t.test('unknown keys are CONFIG_INVALID naming the key, at any depth', async (t) => {
  for (const [doc, key] of [
    [{ ...minimal, dropFolder: ['/x'] }, 'dropFolder'],
    [{ ...minimal, api: { prot: 1 } }, 'api/prot'],
    [{ ...minimal, trust: { allowedSigners: 'a', treshold: 2 } }, 'trust/treshold'],
  ] as const) {
    const err = t.throws(() => configFromDocument(doc, '/c', 'config.json')) as unknown as AirlockError;
    t.equal(err.code, 'CONFIG_INVALID');
    t.equal(err.path, key);
  }
});

t.test('wrong types and missing required keys are CONFIG_INVALID', async (t) => {
  t.throws(() => configFromDocument({ ...minimal, quietPeriodMs: 'soon' }, '/c', 'x'), { code: 'CONFIG_INVALID', path: 'quietPeriodMs' });
  t.throws(() => configFromDocument({ trust: { allowedSigners: 'a' } }, '/c', 'x'), { code: 'CONFIG_INVALID' });
  t.throws(() => configFromDocument({ ...minimal, api: { port: 70000 } }, '/c', 'x'), { code: 'CONFIG_INVALID', path: 'api/port' });
  t.throws(() => configFromDocument({ ...minimal, runtime: { kind: 'podman' } }, '/c', 'x'), { code: 'CONFIG_INVALID' });
});

t.test('a unix socket path longer than sun_path holds is CONFIG_INVALID naming api/socket', async (t) => {
  const fits = '/run/' + 'a'.repeat(102); // 107 bytes
  t.equal(configFromDocument({ ...minimal, api: { socket: fits } }, '/c', 'x').api.socket, fits);
  const err = t.throws(() => configFromDocument({ ...minimal, api: { socket: fits + 'b' } }, '/c', 'x')) as unknown as AirlockError;
  t.equal(err.code, 'CONFIG_INVALID');
  t.equal(err.path, 'api/socket');
  t.match(err.message, /108 bytes long/);
  // A relative socket counts once resolved against the config's folder.
  t.throws(() => configFromDocument({ ...minimal, api: { socket: 'api.sock' } }, '/' + 'd'.repeat(110), 'x'), {
    code: 'CONFIG_INVALID',
    path: 'api/socket',
  });
});

t.test('a credential in the runtime section is refused', async (t) => {
  t.throws(() => configFromDocument({ ...minimal, runtime: { kind: 'docker', env: { NGC_API_KEY: 'nvapi-x' } } }, '/c', 'x'), {
    code: 'SECRET_IN_CONFIG',
  });
});

t.test('the embedded config: ./var under the working folder, demo trust, no media, runtime none', async (t) => {
  const loaded = await loadDaemonConfig(undefined, '/work/here');
  t.equal(loaded.source, 'embedded');
  t.equal(loaded.demoTrust, true);
  t.same(loaded.config.dropFolders, ['/work/here/var/drop']);
  t.equal(loaded.config.store, '/work/here/var/store');
  t.equal(loaded.config.api.tokenFile, '/work/here/var/api-token');
  t.equal(loaded.config.trust.allowedSigners, DEMO_ALLOWED_SIGNERS);
  t.same(loaded.config.mediaRoots, []);
  t.match(loaded.config.api, { host: '127.0.0.1', port: 7480 });
  t.equal(loaded.config.runtime.kind, 'none');
});

t.test('config files: unreadable, not JSON, relative to their own folder', async (t) => {
  const dir = t.testdir({ sub: {} });
  await t.rejects(loadDaemonConfig(path.join(dir, 'missing.json'), dir), { code: 'CONFIG_INVALID' });
  writeFileSync(path.join(dir, 'bad.json'), '{ not json');
  await t.rejects(loadDaemonConfig('bad.json', dir), { code: 'CONFIG_INVALID' });
  writeFileSync(path.join(dir, 'sub', 'ok.json'), JSON.stringify(minimal));
  const loaded = await loadDaemonConfig('sub/ok.json', dir);
  t.equal(loaded.config.store, path.join(dir, 'sub', 'store'));
  t.equal(loaded.demoTrust, false);
});

t.test('`airlock daemon` with an unknown key exits 2 CONFIG_INVALID and names the key', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...minimal, store: path.join(dir, 'store'), bogusKey: true }));
  const res = await airlock(['daemon', '--config', file]);
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'CONFIG_INVALID');
  t.match(res.stderr, /bogusKey/);
});

t.test('`airlock daemon` with an unusable trust file exits 2 TRUST_INVALID before listening', async (t) => {
  const dir = t.testdir({ allowed_signers: 'not a key line\n' });
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ store: 'store', trust: { allowedSigners: 'allowed_signers' }, mediaRoots: [], api: { port: 0 } }));
  const res = await airlock(['daemon', '--config', file]);
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'TRUST_INVALID');
});

t.test('every example config (fixtures/config, systemd/airlock.example.json) is valid', async (t) => {
  const dir = path.join(PACKAGE_ROOT, 'fixtures', 'config');
  const files = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(dir, f)),
    path.join(PACKAGE_ROOT, 'systemd', 'airlock.example.json'),
  ];
  t.ok(files.length >= 4);
  for (const f of files) {
    const c = configFromDocument(JSON.parse(readFileSync(f, 'utf8')), path.dirname(f), f);
    t.ok(path.isAbsolute(c.store), `${path.basename(f)} loads`);
  }
});
