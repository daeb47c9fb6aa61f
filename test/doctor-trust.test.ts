// The trust file and the API token as doctor sees them, and the demo key recognised by its fingerprint: a trust
// file that loads but whose keys are all expired or revoked can accept no bundle; a copied demo trust file is as
// open as the original; a token readable by others hands them retry and rollback.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { loadDaemonConfig } from '../src/config/load-config.js';
import { evaluateDoctor, type DoctorFacts, type TrustFacts } from '../src/doctor/checks.js';
import { resolveRuntimeConfig } from '../src/runtime/config.js';
import { parseAllowedSigners } from '../src/trust/allowed-signers.js';
import { parseRevokedKeys } from '../src/trust/revoked-keys.js';
import { DEMO_KEY_FINGERPRINT, summarizeTrust } from '../src/trust/trust-health.js';
import { airlock } from './helpers/cli.js';
import { makeKey } from './helpers/keys.js';

const run = promisify(execFile);
const DEMO_PUB = path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519.pub');
const demoLine = readFileSync(DEMO_PUB, 'utf8').trim();

const dir = t.testdir();
const alice = makeKey(path.join(dir, 'keys'), 'alice');
const bob = makeKey(path.join(dir, 'keys'), 'bob');
const carol = makeKey(path.join(dir, 'keys'), 'carol');
const pub = (k: { privatePath: string }) => readFileSync(`${k.privatePath}.pub`, 'utf8').trim();

t.test('the demo key constant is the fingerprint ssh-keygen gives the published demo key', async (t) => {
  const { stdout } = await run('ssh-keygen', ['-l', '-f', DEMO_PUB]);
  t.equal(/SHA256:\S+/.exec(stdout)?.[0], DEMO_KEY_FINGERPRINT);
});

t.test('keys that can sign now: revoked, expired, not yet valid and other-namespace keys left out', async (t) => {
  const now = new Date('2026-06-01T00:00:00Z');
  const text = [
    `alice@x ${pub(alice)}`,
    `bob@x valid-before="20260101" ${pub(bob)}`,
    `carol@x valid-after="20270101" ${pub(carol)}`,
    `demo@x namespaces="git" ${demoLine}`,
  ].join('\n');
  const signers = parseAllowedSigners(text, 'as');
  t.same(summarizeTrust(signers, undefined, now), {
    usableKeys: 1,
    revokedKeys: 0,
    notYetValidKeys: 1,
    expiredKeys: 1,
    otherNamespaceKeys: 1,
    demoKey: false,
  });
  const revoked = parseRevokedKeys(Buffer.from(`${pub(alice)}\n`), 'revoked');
  t.match(summarizeTrust(signers, revoked, now), { usableKeys: 0, revokedKeys: 1 }, 'a revoked key never counts');
  const twoLines = parseAllowedSigners(`old@x valid-before="20260101" ${pub(bob)}\nnew@x ${pub(bob)}`, 'as');
  t.match(summarizeTrust(twoLines, undefined, now), { usableKeys: 1, expiredKeys: 0 }, 'one key counts once, usable by any of its lines');
  t.match(summarizeTrust(parseAllowedSigners(`x@y ${demoLine}`, 'as'), undefined, now), { usableKeys: 1, demoKey: true });
});

const base: DoctorFacts = { configSource: '/etc/airlock/config.json', runtime: resolveRuntimeConfig({ kind: 'none' }), envSecrets: [], models: [] };
const trust = (t: Partial<TrustFacts>): TrustFacts => ({ allowedSigners: '/etc/airlock/allowed_signers', threshold: 2, warnings: [], keys: 3, ...t });
const check = (f: Partial<DoctorFacts>, name: string) => evaluateDoctor({ ...base, ...f }).find((c) => c.name === name);
const summary = { usableKeys: 2, revokedKeys: 0, notYetValidKeys: 0, expiredKeys: 0, otherNamespaceKeys: 0, demoKey: false };

t.test('doctor: fewer keys that can sign now than the threshold fails, saying which were left out', async (t) => {
  t.match(check({ trust: trust({ summary }) }, 'trust'), {
    status: 'PASS',
    message: /2 key\(s\) in \/etc\/airlock\/allowed_signers can sign bundles now, threshold 2$/,
  });
  t.match(check({ trust: trust({ summary: { ...summary, usableKeys: 1, revokedKeys: 1, expiredKeys: 1 } }) }, 'trust'), {
    status: 'FAIL',
    message: /^only 1 key\(s\) .* threshold 2 \(left out: 1 revoked, 1 expired\): no bundle can be accepted/,
  });
  t.match(check({ trust: trust({ problem: 'TRUST_INVALID: cannot read /etc/airlock/allowed_signers: ENOENT' }) }, 'trust'), {
    status: 'FAIL',
    message: /ENOENT.*refuses to start/,
  });
});

t.test('doctor: the demo key fails a real config and is expected of the quick start', async (t) => {
  t.match(check({ trust: trust({ summary: { ...summary, demoKey: true } }) }, 'demo-key'), {
    status: 'FAIL',
    message: new RegExp(`trusts the demo key ${DEMO_KEY_FINGERPRINT.replace(/[+/]/g, '\\$&')}.*remove its line`),
  });
  t.match(check({ trust: trust({ summary: { ...summary, demoKey: true }, quickStart: true }) }, 'demo-key'), {
    status: 'PASS',
    message: /quick-start/,
  });
  t.equal(check({ trust: trust({ summary }) }, 'demo-key'), undefined, 'no line without the demo key');
});

t.test("doctor: the API token file's mode", async (t) => {
  const token = (extra: Partial<NonNullable<DoctorFacts['token']>>) =>
    check({ token: { path: '/var/lib/airlock/api-token', exists: true, regular: true, ...extra } }, 'api-token');
  t.match(token({ mode: 0o600 }), { status: 'PASS', message: /mode 0600/ });
  t.match(token({ mode: 0o644 }), { status: 'FAIL', message: /mode 0644: group or others can read.*chmod 600 \/var\/lib\/airlock\/api-token/ });
  t.match(token({ mode: 0o640 }), { status: 'FAIL' });
  t.match(token({ exists: false }), { status: 'PASS', message: /creates it, mode 0600/ });
  t.match(token({ regular: false, mode: 0o700 }), { status: 'FAIL', message: /not a regular file/ });
});

t.test('a copied demo trust file is the demo trust: the daemon warns and doctor fails', async (t) => {
  const cwd = t.testdir();
  const copied = path.join(cwd, 'etc', 'trusted-signers');
  mkdirSync(path.dirname(copied), { recursive: true });
  copyFileSync(DEMO_ALLOWED_SIGNERS, copied);
  const token = path.join(cwd, 'api-token');
  writeFileSync(token, 'f'.repeat(64) + '\n');
  chmodSync(token, 0o644);
  const config = path.join(cwd, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ store: 'store', trust: { allowedSigners: copied, threshold: 1 }, api: { tokenFile: token }, runtime: { kind: 'none' } }),
  );
  t.equal((await loadDaemonConfig(config, cwd)).demoTrust, true, 'by fingerprint, not by path');
  const own = path.join(cwd, 'own_signers');
  writeFileSync(own, `alice@x ${pub(alice)}\n`);
  const ownConfig = path.join(cwd, 'own.json');
  writeFileSync(
    ownConfig,
    JSON.stringify({ store: 'store', trust: { allowedSigners: own, threshold: 1 }, api: { tokenFile: token }, runtime: { kind: 'none' } }),
  );
  t.equal((await loadDaemonConfig(ownConfig, cwd)).demoTrust, false, 'a trust file without the demo key');

  const res = await airlock(['doctor', '--config', config, '--json'], { cwd });
  const report = JSON.parse(res.stdout) as { checks: Array<{ status: string; name: string; message: string }> };
  t.equal(res.exitCode, 1);
  t.match(
    report.checks.find((c) => c.name === 'demo-key'),
    { status: 'FAIL', message: /trusted-signers trusts the demo key/ },
  );
  t.match(
    report.checks.find((c) => c.name === 'api-token'),
    { status: 'FAIL', message: /mode 0644/ },
  );
  chmodSync(token, 0o600);
  const own2 = JSON.parse((await airlock(['doctor', '--config', ownConfig, '--json'], { cwd })).stdout) as typeof report;
  t.match(
    own2.checks.find((c) => c.name === 'api-token'),
    { status: 'PASS' },
  );
  t.notOk(
    own2.checks.some((c) => c.name === 'demo-key'),
    'no demo-key line for a trust file of ones own',
  );
});
