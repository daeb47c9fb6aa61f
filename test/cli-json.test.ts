// Every --json output of the real CLI against its schema in schema/: reports on success, the report of a rejected
// bundle, and the error document ({"ok": false, "error"}) when a command fails before it has a report.
import t, { type Test } from 'tap';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock, type CliResult } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';

const KEY = fixturePath('keys/demo_ed25519');
const TRUST = fixturePath('keys/allowed_signers.demo');

/** Run with --json; stdout must be one document valid against `schema`. */
async function jsonOf(t: Test, schema: string, args: string[], exit = 0): Promise<{ res: CliResult; doc: any }> {
  const res = await airlock([...args, '--json']);
  t.equal(res.exitCode, exit, `airlock ${args[0]} exits ${exit} (${res.stderr.trim().split('\n')[0] ?? ''})`);
  let doc: any;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    t.fail(`airlock ${args[0]} --json printed no JSON: ${JSON.stringify(res.stdout.slice(0, 200))}`);
  }
  t.same(schemaProblems(schema, doc), [], `airlock ${args[0]} --json matches schema/${schema}.schema.json`);
  return { res, doc };
}

t.test('the bundle commands: pack, inspect, verify (valid and rejected), sign, keygen', async (t) => {
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar' });
  await jsonOf(t, 'pack-report', ['pack', fixturePath('model-dir'), '--out', path.join(dir, 'again'), '--name', 'test/json', '--kind', 'model-dir']);
  const inspect = await jsonOf(t, 'inspect-report', ['inspect', packed.location]);
  t.equal(inspect.doc.bundle.id, packed.id);
  const ok = await jsonOf(t, 'verify-report', ['verify', packed.location, '--trust', TRUST]);
  t.equal(ok.doc.ok, true);

  const tampered = (await packFixture(t, { fixture: 'model-dir', signKeys: [KEY] })).location;
  const victim = path.join(tampered, 'payload', 'config.json');
  const bytes = await fsp.readFile(victim);
  bytes[0] = bytes[0]! ^ 1;
  await fsp.writeFile(victim, bytes);
  const rejected = await jsonOf(t, 'verify-report', ['verify', tampered, '--trust', TRUST], 1);
  t.match(rejected.doc, { ok: false, payloadChecked: true, failures: [{ code: 'HASH_MISMATCH' }] });
  t.equal(rejected.res.errorCode, 'HASH_MISMATCH', 'and the code on stderr');
  const missing = await jsonOf(t, 'verify-report', ['verify', path.join(dir, 'nope'), '--trust', TRUST], 1);
  t.match(missing.doc, { ok: false, error: { code: 'NOT_A_BUNDLE' } }, 'no bundle at all: the error document');

  const key = path.join(dir, 'reviewer');
  const keygen = await jsonOf(t, 'keygen-report', ['keygen', key, '--comment', 'reviewer@example.org']);
  t.match(keygen.doc, { ok: true, privateKey: key, publicKey: `${key}.pub`, fingerprint: /^SHA256:/, comment: 'reviewer@example.org' });
  await jsonOf(t, 'keygen-report', ['keygen', key], 2).then(({ doc }) => t.equal(doc.error.code, 'KEY_EXISTS'));
  const signed = await jsonOf(t, 'sign-report', ['sign', packed.location, '--key', key]);
  t.match(signed.doc, { ok: true, outcome: 'written', bundle: { id: packed.id }, key: { fingerprint: keygen.doc.fingerprint } });
  const again = await jsonOf(t, 'sign-report', ['sign', packed.location, '--key', key]);
  t.equal(again.doc.outcome, 'already-signed');
});

t.test('the store commands: install, deployments, rollback, inventory, gc, unlock, doctor', async (t) => {
  const dir = t.testdir();
  const store = path.join(dir, 'store');
  const one = await packFixture(t, { fixture: 'model-store', signKeys: [KEY], sequence: 1, name: 'test/json-store' });
  const two = await packFixture(t, { fixture: 'model-store', signKeys: [KEY], sequence: 2, name: 'test/json-store' });
  await jsonOf(t, 'install-report', ['install', one.location, '--store', store, '--trust', TRUST]);
  await jsonOf(t, 'install-report', ['install', two.location, '--store', store, '--trust', TRUST]);
  const list = await jsonOf(t, 'deployments-report', ['deployments', '--store', store]);
  t.equal(list.doc.models[0].current.bundleId, two.id);
  const back = await jsonOf(t, 'rollback-report', ['rollback', 'test/json-store', '--store', store]);
  t.equal(back.doc.deployment.bundleId, one.id);
  await jsonOf(t, 'rollback-report', ['rollback', 'no/such-model', '--store', store], 1).then(({ doc }) =>
    t.equal(doc.error.code, 'NO_SUCH_DEPLOYMENT'),
  );
  const inventory = await jsonOf(t, 'inventory-report', ['inventory', '--store', store]);
  t.same(schemaProblems('inventory', inventory.doc), [], 'without --out: the inventory itself');
  const written = await jsonOf(t, 'inventory-report', ['inventory', '--store', store, '--out', path.join(dir, 'inventory.json')]);
  t.match(written.doc, { ok: true, out: path.join(dir, 'inventory.json'), blobs: inventory.doc.content.length });
  await jsonOf(t, 'gc-report', ['gc', '--store', store]);
  await jsonOf(t, 'unlock-report', ['unlock', '--store', store]);
  const doctor = await airlock(['doctor', '--store', store, '--json'], { env: { DOCKER_HOST: `unix://${path.join(dir, 'no.sock')}` } });
  t.same(schemaProblems('doctor-report', JSON.parse(doctor.stdout)), [], 'doctor --json matches schema/doctor-report.schema.json');
});

t.test('the daemon and engine commands fail as documents: stop, status, deploy', async (t) => {
  const dir = t.testdir();
  const env = { DOCKER_HOST: `unix://${path.join(dir, 'no.sock')}` };
  const stop = await airlock(['stop', 'x/y', '--json'], { env });
  t.equal(stop.errorCode, 'DOCKER_UNREACHABLE');
  t.same(schemaProblems('stop-report', JSON.parse(stop.stdout)), []);
  const deploy = await airlock(['deploy', 'x/y', '--json'], { env, cwd: dir });
  t.equal(deploy.errorCode, 'CONFIG_INVALID');
  t.same(schemaProblems('deploy-report', JSON.parse(deploy.stdout)), []);
  await jsonOf(t, 'status-report', ['status', '--url', `unix:${path.join(dir, 'no-daemon.sock')}`], 1).then(({ doc }) =>
    t.equal(doc.error.code, 'DAEMON_UNREACHABLE'),
  );
});
