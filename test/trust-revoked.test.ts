// Revoked keys: the plain key list `ssh-keygen -Y verify -r` reads. A revoked key never counts, in the policy,
// in verify / install / inspect, and doctor reports the file; KRLs and broken lines are refused loudly.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateDoctor } from '../src/doctor/checks.js';
import { parseAllowedSigners } from '../src/trust/allowed-signers.js';
import { describeSignatures, evaluateSignatures } from '../src/trust/policy.js';
import { loadRevokedKeys, parseRevokedKeys } from '../src/trust/revoked-keys.js';
import { resolveRuntimeConfig } from '../src/runtime/config.js';
import { airlock } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';
import { makeKey, sshKeygen, sshSign, sshVerifyWith } from './helpers/keys.js';
import { makeEmulatedKey, SK_ED25519, tokenSign } from './helpers/sk-emulator.js';

const root = t.testdir();
const alice = makeKey(root, 'alice');
const bob = makeKey(root, 'bob');
const rsa = makeKey(root, 'rsa', { type: 'rsa' });
const manifest = Buffer.from('{"schema":"airlock.bundle/v1","id":"rev"}\n');
const now = new Date('2026-06-01T12:00:00Z');
const trust = parseAllowedSigners(`alice@x ${alice.publicLine}\nbob@x ${bob.publicLine}`, 'allowed_signers');
const sig = (name: string, key: typeof alice) => ({ name: `signatures/${name}.sig`, bytes: Buffer.from(sshSign(key, manifest)) });

t.test('the plain list ssh-keygen reads: comments, blank lines, indentation, any key type', async (t) => {
  const text = [
    '# lost on 2026-05-01',
    '',
    `  ${alice.publicLine}`,
    `\t${rsa.publicLine}`,
    `${bob.publicLine.split(' ').slice(0, 2).join(' ')}`,
    '',
  ].join('\n');
  const r = parseRevokedKeys(Buffer.from(text), 'revoked');
  t.equal(r.blobs.length, 3);
  const dir = t.testdir({ revoked: text, as: `alice@x ${alice.publicLine}\n` });
  const ssh = sshVerifyWith(dir, {
    allowedSigners: path.join(dir, 'as'),
    principal: 'alice@x',
    signature: sshSign(alice, manifest),
    message: manifest,
    revoked: path.join(dir, 'revoked'),
  });
  t.not(ssh.status, 0, 'ssh-keygen -r reads the same file and refuses alice');
  const empty = parseRevokedKeys(Buffer.alloc(0), 'revoked');
  t.same(empty.blobs, [], 'an empty file revokes nothing');
});

t.test('hostile or mistaken revoked-keys files are refused, never read as "nothing revoked"', async (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['an OpenSSH KRL', Buffer.concat([Buffer.from('SSHKRL\n\0', 'latin1'), Buffer.alloc(40)]), 'KRL_UNSUPPORTED'],
    ['a garbage line', Buffer.from(`${alice.publicLine}\nnot a key\n`), 'TRUST_INVALID'],
    ['an authorized_keys line with options', Buffer.from(`no-pty ${alice.publicLine}\n`), 'TRUST_INVALID'],
    ['bad base64', Buffer.from('ssh-ed25519 AAAA!!!!\n'), 'TRUST_INVALID'],
    ['a blob of another type than its line says', Buffer.from(`ssh-ed25519 ${rsa.publicLine.split(' ')[1]}\n`), 'TRUST_INVALID'],
    [
      'a truncated ed25519 key',
      Buffer.from(`ssh-ed25519 ${Buffer.from(alice.publicLine.split(' ')[1]!, 'base64').subarray(0, 40).toString('base64')}\n`),
      'TRUST_INVALID',
    ],
    ['a type with no key', Buffer.from('ssh-ed25519\n'), 'TRUST_INVALID'],
  ];
  for (const [what, data, code] of cases) {
    t.throws(() => parseRevokedKeys(data, 'revoked'), { code, path: 'revoked' }, what);
  }
  t.throws(
    () => parseRevokedKeys(Buffer.from(`${alice.publicLine}\n\nnope\n`), 'revoked'),
    { message: /^revoked:3: / },
    'the message names the line',
  );
  const dir = t.testdir();
  const krl = path.join(dir, 'krl');
  t.equal(sshKeygen(['-k', '-f', krl, alice.publicPath]).status, 0, 'a real KRL from ssh-keygen -k');
  await t.rejects(loadRevokedKeys(krl), { code: 'KRL_UNSUPPORTED', path: krl });
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await t.rejects(loadRevokedKeys(fifo), { code: 'TRUST_INVALID', path: fifo }, 'a FIFO is refused at once, never waited on');
  await t.rejects(loadRevokedKeys(path.join(dir, 'missing')), { code: 'TRUST_INVALID' }, 'a configured file that is missing is an error');
});

t.test('a revoked key never counts; the others still can', async (t) => {
  const revoked = parseRevokedKeys(Buffer.from(alice.publicLine), 'revoked');
  const one = evaluateSignatures(manifest, [sig('alice', alice)], trust, { threshold: 1, now, revoked });
  t.match(one, { trustedKeys: 0, satisfied: false });
  t.match(one.signers[0], { status: 'revoked', code: 'KEY_REVOKED', fingerprint: alice.fingerprint });
  t.same(
    one.failures.map((f) => f.code),
    ['KEY_REVOKED', 'THRESHOLD_NOT_MET'],
  );
  const both = evaluateSignatures(manifest, [sig('alice', alice), sig('bob', bob)], trust, { threshold: 1, now, revoked });
  t.match(both, { trustedKeys: 1, satisfied: true, failures: [] });
  t.same(
    both.signers.map((s) => s.status),
    ['revoked', 'trusted'],
    'the revoked signature stays visible',
  );
  const stranger = makeKey(root, 'stranger');
  const unknownRevoked = evaluateSignatures(manifest, [sig('stranger', stranger)], trust, {
    threshold: 1,
    now,
    revoked: parseRevokedKeys(Buffer.from(stranger.publicLine), 'revoked'),
  });
  t.match(unknownRevoked.signers[0], { status: 'revoked', code: 'KEY_REVOKED' }, 'revoked wins over "not in allowed_signers"');
  t.match(
    describeSignatures(manifest, [sig('alice', alice)], revoked)[0],
    { status: 'revoked', code: 'KEY_REVOKED' },
    'inspect without a trust file',
  );
});

t.test('revoking a security key revokes exactly that key (application included), as ssh-keygen -r does', async (t) => {
  const dir = t.testdir();
  const token = makeEmulatedKey(SK_ED25519);
  const signature = tokenSign(token, manifest);
  writeFileSync(path.join(dir, 'as'), `r@x ${token.publicLine}\n`);
  for (const [what, list, revokedToo] of [
    ['the key itself', token.publicLine, true],
    ['another key', bob.publicLine, false],
  ] as const) {
    writeFileSync(path.join(dir, 'revoked'), list + '\n');
    const r = evaluateSignatures(manifest, [{ name: 's.sig', bytes: Buffer.from(signature) }], parseAllowedSigners(`r@x ${token.publicLine}`, 'as'), {
      threshold: 1,
      now,
      revoked: parseRevokedKeys(Buffer.from(list), 'revoked'),
    });
    const ssh = sshVerifyWith(dir, {
      allowedSigners: path.join(dir, 'as'),
      principal: 'r@x',
      signature,
      message: manifest,
      revoked: path.join(dir, 'revoked'),
    });
    t.equal(r.signers[0]!.status === 'revoked', revokedToo, `${what}: airlock`);
    t.equal(ssh.status !== 0, revokedToo, `${what}: ssh-keygen -r agrees`);
  }
});

t.test('verify, install and inspect take --revoked FILE', async (t) => {
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/revoked' });
  const as = path.join(dir, 'as');
  const revoked = path.join(dir, 'revoked');
  writeFileSync(as, `alice@x ${alice.publicLine}\n`);
  writeFileSync(revoked, `# alice's laptop was stolen\n${alice.publicLine}\n`);
  const verify = await airlock(['verify', packed.location, '--trust', as, '--revoked', revoked]);
  t.equal(verify.exitCode, 1);
  t.equal(verify.errorCode, 'KEY_REVOKED');
  t.match(verify.stdout, /revoked\s+signatures\/.*KEY_REVOKED/);
  const install = await airlock(['install', packed.location, '--store', path.join(dir, 'store'), '--trust', as, '--revoked', revoked]);
  t.equal(install.exitCode, 1);
  t.equal(install.errorCode, 'KEY_REVOKED');
  const inspect = await airlock(['inspect', packed.location, '--revoked', revoked, '--json']);
  t.equal(inspect.exitCode, 0);
  t.match(JSON.parse(inspect.stdout).signers, [{ status: 'revoked', code: 'KEY_REVOKED' }]);
  writeFileSync(revoked, `${bob.publicLine}\n`);
  t.equal((await airlock(['verify', packed.location, '--trust', as, '--revoked', revoked])).exitCode, 0, 'another key revoked: alice still counts');
  writeFileSync(revoked, 'SSHKRL\n\0');
  const krl = await airlock(['verify', packed.location, '--trust', as, '--revoked', revoked]);
  t.equal(krl.exitCode, 2);
  t.equal(krl.errorCode, 'KRL_UNSUPPORTED');
});

t.test('the CLI prints skipped trust-file lines as warnings on stderr', async (t) => {
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/warn' });
  const as = path.join(dir, 'as');
  writeFileSync(as, `alice@x ${alice.publicLine}\nold@x ${rsa.publicLine}\n`);
  const res = await airlock(['verify', packed.location, '--trust', as]);
  t.equal(res.exitCode, 0, res.stderr);
  t.match(res.stderr, new RegExp(`^airlock: warning: ${as.replace(/[/.]/g, '\\$&')}:2: line skipped: ssh-rsa`, 'm'));
});

t.test('doctor reports the trust file and the revoked keys', async (t) => {
  const base = { configSource: 'c.json', runtime: resolveRuntimeConfig({ kind: 'none' }), envSecrets: [], models: [] };
  const checks = (trust: Parameters<typeof evaluateDoctor>[0]['trust']) => evaluateDoctor({ ...base, ...(trust ? { trust } : {}) });
  const ok = checks({ allowedSigners: '/etc/airlock/as', threshold: 1, keys: 3, warnings: [], revoked: { path: '/etc/airlock/revoked', keys: 2 } });
  t.match(
    ok.find((c) => c.name === 'trust'),
    { status: 'PASS', message: /3 key\(s\) in \/etc\/airlock\/as can sign bundles now, threshold 1/ },
  );
  t.match(
    ok.find((c) => c.name === 'revoked-keys'),
    { status: 'PASS', message: /2 revoked key.*\/etc\/airlock\/revoked/ },
  );
  const none = checks({ allowedSigners: '/etc/airlock/as', threshold: 1, keys: 1, warnings: [] });
  t.match(
    none.find((c) => c.name === 'revoked-keys'),
    { status: 'PASS', message: /none configured/ },
  );
  const broken = checks({
    allowedSigners: '/etc/airlock/as',
    threshold: 1,
    keys: 1,
    warnings: [],
    revoked: { path: '/r', problem: 'KRL_UNSUPPORTED: /r is an OpenSSH KRL' },
  });
  t.match(
    broken.find((c) => c.name === 'revoked-keys'),
    { status: 'FAIL', message: /KRL_UNSUPPORTED/ },
  );
  const badTrust = checks({
    allowedSigners: '/etc/airlock/as',
    threshold: 1,
    warnings: [],
    problem: 'TRUST_INVALID: /etc/airlock/as:4: unknown option',
  });
  t.match(
    badTrust.find((c) => c.name === 'trust'),
    { status: 'FAIL', message: /TRUST_INVALID/ },
  );
});

t.test('doctor --config reads the configured files', async (t) => {
  const dir = t.testdir();
  writeFileSync(path.join(dir, 'as'), `alice@x ${alice.publicLine}\nold@x ${rsa.publicLine}\n`);
  writeFileSync(path.join(dir, 'revoked'), `${bob.publicLine}\n${rsa.publicLine}\n`);
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ store: 'store', trust: { allowedSigners: 'as', revokedKeys: 'revoked' }, runtime: { kind: 'none' } }),
  );
  const res = await airlock(['doctor', '--config', path.join(dir, 'config.json'), '--json']);
  const out = JSON.parse(res.stdout) as { checks: Array<{ status: string; name: string; message: string }> };
  t.match(
    out.checks.find((c) => c.name === 'trust'),
    { status: 'PASS', message: /1 key\(s\) in .* can sign bundles now, threshold 1.*1 line\(s\) skipped/ },
  );
  t.match(
    out.checks.find((c) => c.name === 'revoked-keys'),
    { status: 'PASS', message: new RegExp(`2 revoked key\\(s\\) in ${dir}/revoked`) },
  );
  writeFileSync(path.join(dir, 'revoked'), 'SSHKRL\n\0');
  const bad = JSON.parse((await airlock(['doctor', '--config', path.join(dir, 'config.json'), '--json'])).stdout) as typeof out;
  t.match(
    bad.checks.find((c) => c.name === 'revoked-keys'),
    { status: 'FAIL', message: /KRL_UNSUPPORTED/ },
  );
});
