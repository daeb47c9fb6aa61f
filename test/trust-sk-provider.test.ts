// Real security-key files and signatures from the real OpenSSH code, through a software FIDO middleware built
// for the test (test/helpers/sk-middleware.c): ssh-keygen -t ed25519-sk / ecdsa-sk makes the key, airlock
// sign / pack delegate to ssh-keygen -Y sign, ssh-agent holds one; airlock and ssh-keygen -Y verify judge.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAgent } from './helpers/agent.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey, sshVerify } from './helpers/keys.js';
import { buildSkProvider } from './helpers/sk-provider.js';

const root = t.testdir();
const provider = buildSkProvider(t, root);

function skKey(name: string, type: 'ed25519-sk' | 'ecdsa-sk', extra: string[] = []): { file: string; publicLine: string; fingerprint: string } {
  const file = path.join(root, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-w', provider!, '-N', '', '-C', `${name}@token.test`, '-f', file, ...extra], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ssh-keygen -t ${type}: ${r.stderr}`);
  const publicLine = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = spawnSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]!;
  return { file, publicLine, fingerprint };
}

if (provider) {
  const alice = makeKey(root, 'alice');
  const edToken = skKey('reviewer', 'ed25519-sk');
  const ecToken = skKey('release', 'ecdsa-sk');
  const pinToken = skKey('pin', 'ed25519-sk', ['-O', 'verify-required']);
  const trust = path.join(root, 'allowed_signers');
  writeFileSync(
    trust,
    [
      `alice@x ${alice.publicLine}`,
      `reviewer@x namespaces="airlock" ${edToken.publicLine}`,
      `release@x ${ecToken.publicLine}`,
      `pin@x verify-required ${pinToken.publicLine}`,
    ].join('\n') + '\n',
  );
  const env = { SSH_SK_PROVIDER: provider };
  const manifestOf = (location: string) => readFileSync(path.join(location, 'airlock.json'));

  t.test('a reviewer countersigns with a real ed25519-sk key file: one touch, and both verifiers accept', async (t) => {
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/countersign' });
    const res = await airlock(['sign', packed.location, '--key', edToken.file], { env });
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stderr, /Confirm user presence for key ED25519-SK/, "ssh-keygen's prompt reaches the reviewer");
    t.match(res.stdout, /sk-ssh-ed25519@openssh\.com reviewer@token\.test \(via ssh-keygen\)/);
    const verify = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2', '--json']);
    t.equal(verify.exitCode, 0, verify.stdout);
    t.match(JSON.parse(verify.stdout).trust.signers, [
      { status: 'trusted' },
      { status: 'trusted', keyType: 'sk-ssh-ed25519@openssh.com', principals: ['reviewer@x'] },
    ]);
    const sig = readFileSync(path.join(packed.location, 'signatures', 'reviewer-token.test.sig'), 'utf8');
    t.equal(sshVerify(root, trust, 'reviewer@x', sig, manifestOf(packed.location)).status, 0, 'ssh-keygen -Y verify');
  });

  t.test('airlock pack --sign with an ecdsa-sk key file', async (t) => {
    const out = path.join(t.testdir(), 'bundle');
    const res = await airlock(
      [
        'pack',
        fixturePath('model-dir'),
        '--out',
        out,
        '--name',
        'test/ecdsa-sk',
        '--kind',
        'model-dir',
        '--sign',
        alice.privatePath,
        '--sign',
        ecToken.file,
      ],
      { env },
    );
    t.equal(res.exitCode, 0, res.stderr);
    t.same(readdirSync(path.join(out, 'signatures')).sort(), ['alice-airlock.test.sig', 'release-token.test.sig']);
    t.equal((await airlock(['verify', out, '--trust', trust, '--threshold', '2'])).exitCode, 0);
    t.equal(
      sshVerify(root, trust, 'release@x', readFileSync(path.join(out, 'signatures', 'release-token.test.sig'), 'utf8'), manifestOf(out)).status,
      0,
    );
  });

  t.test('a token that did not register a touch: nothing is written', async (t) => {
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/untouched' });
    const res = await airlock(['sign', packed.location, '--key', edToken.file], { env: { ...env, AIRLOCK_TEST_SK_FLAGS: '0' } });
    t.equal(res.errorCode, 'NO_USER_PRESENCE');
    t.notOk(existsSync(path.join(packed.location, 'signatures', 'reviewer-token.test.sig')));
    // An untouched signature made by hand with ssh-keygen does not count, so it does not block a touched one.
    const untouched = spawnSync('ssh-keygen', ['-Y', 'sign', '-q', '-n', 'airlock', '-f', edToken.file], {
      input: manifestOf(packed.location),
      env: { ...process.env, ...env, AIRLOCK_TEST_SK_FLAGS: '0' },
    });
    writeFileSync(path.join(packed.location, 'signatures', 'by-hand.sig'), untouched.stdout);
    const before = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2']);
    t.match(before.stdout, /invalid\s+signatures\/by-hand\.sig .*NO_USER_PRESENCE/);
    const touched = await airlock(['sign', packed.location, '--key', edToken.file], { env });
    t.equal(touched.exitCode, 0, touched.stderr);
    t.match(touched.stdout, /^wrote/m);
    t.equal((await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2'])).exitCode, 0);
  });

  t.test('a verify-required key: the PIN gives the user-verified flag; without it the signature does not count', async (t) => {
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/pin' });
    const askpass = path.join(root, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\necho 1234\n');
    chmodSync(askpass, 0o755);
    const pinEnv = { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' };
    const signed = await airlock(['sign', packed.location, '--key', pinToken.file], { env: pinEnv });
    t.equal(signed.exitCode, 0, signed.stderr);
    t.equal((await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2'])).exitCode, 0);
    const noUv = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/no-uv' });
    t.equal(
      (await airlock(['sign', noUv.location, '--key', pinToken.file], { env: { ...pinEnv, AIRLOCK_TEST_SK_FLAGS: '1' } })).exitCode,
      0,
      'touched, not verified: airlock sign writes it',
    );
    const verify = await airlock(['verify', noUv.location, '--trust', trust, '--threshold', '2']);
    t.equal(verify.exitCode, 1);
    t.match(verify.stdout, /NO_USER_VERIFICATION/);
  });

  t.test('a security key held by ssh-agent signs through the agent', async (t) => {
    const agent = await startAgent(t, ['-P', `${path.dirname(provider)}/*`], { ...process.env, ...env });
    agent.add(edToken.file, ['-S', provider]);
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/agent-sk' });
    const res = await airlock(['sign', packed.location, '--agent', edToken.fingerprint], { env: agent.env });
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stdout, /via ssh-agent/);
    t.equal((await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2'])).exitCode, 0);
  });
}
