// A store or folder airlock cannot write is a clear code naming the path and the way out, never a raw EACCES:
// run as an unprivileged user (setpriv --reuid=nobody) against root's folders, and as root against a read-only
// bind mount (unshare -m). Root-only: skips with the reason elsewhere, and fails under CI=true.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { schemaProblems } from '../src/util/schemas.js';
import { AIRLOCK_BIN, childEnv, type CliResult } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';

const KEY = fixturePath('keys/demo_ed25519');
const TRUST = fixturePath('keys/allowed_signers.demo');

function run(argv: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: childEnv(), cwd, timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : 124) : 0;
      resolve({ exitCode, stdout, stderr, errorCode: /^airlock: ([A-Z_]+):/m.exec(stderr)?.[1] });
    });
  });
}

// env -u NODE_OPTIONS: the test runner's hooks, which would write their own records as nobody, stay out.
const asNobody = (args: string[], cwd: string) =>
  run(
    ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', 'env', '-u', 'NODE_OPTIONS', process.execPath, AIRLOCK_BIN, ...args],
    cwd,
  );

function rootOnly(t: Test): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env['CI'] === 'true') t.fail('under CI=true this must run (it needs root for setpriv and unshare -m)');
  else t.pass('needs root', { skip: 'needs root (setpriv, unshare -m)' });
  return false;
}

/** exit 2, the code, the path named, and one line on stderr. */
function refused(t: Test, res: CliResult, code: string, where: string): void {
  t.equal(res.exitCode, 2, `exit 2 (${res.stderr.trim()})`);
  t.equal(res.errorCode, code);
  t.match(res.stderr, where, 'names the path');
  t.notMatch(res.stderr, /^airlock: (IO_ERROR|INTERNAL)/m, 'not a raw errno');
  t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
}

t.test('a store this user cannot write: STORE_NOT_WRITABLE, with the path and the fix', async (t) => {
  if (!rootOnly(t)) return;
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], out: path.join(dir, 'bundle') });
  const store = path.join(dir, 'root-store');
  mkdirSync(store, { mode: 0o755 });
  const install = await asNobody(['install', packed.location, '--store', store, '--trust', TRUST], dir);
  refused(t, install, 'STORE_NOT_WRITABLE', store);
  t.match(install.stderr, /cannot be written by this user \(uid \d+\).*sudo -u airlock.*--store a folder this user can write/);
  const json = await asNobody(['install', packed.location, '--store', store, '--trust', TRUST, '--json'], dir);
  t.match(JSON.parse(json.stdout), { ok: false, error: { code: 'STORE_NOT_WRITABLE' } });
  t.same(schemaProblems('install-report', JSON.parse(json.stdout)), []);
  refused(
    t,
    await asNobody(['install', packed.location, '--store', path.join(store, 'new', 'sub'), '--trust', TRUST], dir),
    'STORE_NOT_WRITABLE',
    store,
  );
  refused(t, await asNobody(['gc', '--store', store], dir), 'STORE_NOT_WRITABLE', store);
  t.notOk(existsSync(path.join(store, 'deployments')), 'nothing was written');

  // The daemon too, before it listens: exit 2, which systemd does not restart.
  const cwd = path.join(dir, 'daemon-cwd');
  mkdirSync(cwd);
  chmodSync(cwd, 0o777);
  refused(t, await asNobody(['daemon', '--port', '0', '--drop', 'drop', '--store', store], cwd), 'STORE_NOT_WRITABLE', store);
});

t.test('a store on a read-only mount: STORE_NOT_WRITABLE, even as root', async (t) => {
  if (!rootOnly(t)) return;
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], out: path.join(dir, 'bundle') });
  const store = path.join(dir, 'ro-store');
  mkdirSync(store);
  const script = `mount --bind -o ro "$0" "$0" && exec "$@"`;
  const res = await run(
    ['unshare', '-m', 'sh', '-c', script, store, process.execPath, AIRLOCK_BIN, 'install', packed.location, '--store', store, '--trust', TRUST],
    dir,
  );
  refused(t, res, 'STORE_NOT_WRITABLE', store);
  t.match(res.stderr, 'is on a read-only file system');
});

t.test('other places a command writes: NOT_WRITABLE, with the path', async (t) => {
  if (!rootOnly(t)) return;
  const dir = t.testdir();
  const locked = path.join(dir, 'root-only');
  mkdirSync(locked, { mode: 0o755 });
  refused(t, await asNobody(['keygen', path.join(locked, 'key')], dir), 'NOT_WRITABLE', path.join(locked, 'key'));
  refused(
    t,
    await asNobody(['pack', fixturePath('model-dir'), '--out', path.join(locked, 'bundle'), '--name', 'test/nw', '--kind', 'model-dir'], dir),
    'NOT_WRITABLE',
    locked,
  );
  const store = path.join(dir, 'store');
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], out: path.join(dir, 'bundle') });
  const installed = await run([process.execPath, AIRLOCK_BIN, 'install', packed.location, '--store', store, '--trust', TRUST], dir);
  t.equal(installed.exitCode, 0, installed.stderr);
  refused(t, await asNobody(['inventory', '--store', store, '--out', path.join(locked, 'inventory.json')], dir), 'NOT_WRITABLE', locked);
  const cwd = path.join(dir, 'daemon-cwd');
  mkdirSync(cwd);
  chmodSync(cwd, 0o777);
  refused(t, await asNobody(['daemon', '--port', '0', '--drop', path.join(locked, 'drop'), '--store', 'store'], cwd), 'NOT_WRITABLE', locked);
});
