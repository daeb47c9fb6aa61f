// Signing without airlock ever holding the secret: a key in a real ssh-agent, and delegation to the real
// ssh-keygen -Y sign (the path a security key's file takes). Every signature made is checked by ssh-keygen
// -Y verify; every way an agent or ssh-keygen can fail or lie ends in a code, never in a written signature.
import t from 'tap';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { agentSigner } from '../src/trust/agent-signer.js';
import { sshKeygenSigner } from '../src/trust/keygen-signer.js';
import { parsePublicKeyLine } from '../src/trust/public-key.js';
import { WireWriter } from '../src/trust/ssh-wire.js';
import { startAgent } from './helpers/agent.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey, sshSign, sshVerify, writeAllowedSigners } from './helpers/keys.js';
import { makeEmulatedKey, SK_ED25519, tokenSign } from './helpers/sk-emulator.js';

const root = t.testdir();
const alice = makeKey(root, 'alice');
const bob = makeKey(root, 'bob');
const p256 = makeKey(root, 'p256', { type: 'ecdsa', bits: 256 });
const rsa = makeKey(root, 'rsa', { type: 'rsa' });
const message = Buffer.from('{"schema":"airlock.bundle/v1","id":"signing"}\n');
const trust = path.join(root, 'allowed_signers');
writeAllowedSigners(trust, [
  { principals: 'alice@x', key: alice },
  { principals: 'bob@x', key: bob },
  { principals: 'p256@x', key: p256 },
]);
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );

t.test('ssh-agent: keys held by a real agent sign; ssh-keygen -Y verify accepts what they made', async (t) => {
  const agent = await startAgent(t);
  agent.add(alice.privatePath);
  agent.add(p256.privatePath);
  for (const [who, key, selector] of [
    ['alice@x', alice, alice.fingerprint],
    ['alice@x', alice, alice.publicPath],
    ['p256@x', p256, p256.fingerprint],
  ] as const) {
    const signer = await agentSigner(selector, { env: agent.env });
    t.equal(signer.via, 'ssh-agent');
    t.equal(signer.public.comment, `${path.basename(key.privatePath)}@airlock.test`, 'the comment ssh-add gave it, for the label');
    const text = await signer.sign(message, 'airlock');
    t.equal(sshVerify(root, trust, who, text, message).status, 0, `${selector}: ssh-keygen -Y verify`);
  }
});

t.test('ssh-agent refusals carry their codes', async (t) => {
  const agent = await startAgent(t);
  agent.add(alice.privatePath);
  agent.add(rsa.privatePath);
  const { SSH_AUTH_SOCK: _, ...noAgent } = process.env;
  t.equal(await codeOf(agentSigner(alice.fingerprint, { env: noAgent })), 'AGENT_UNAVAILABLE', 'no SSH_AUTH_SOCK');
  t.equal(
    await codeOf(agentSigner(alice.fingerprint, { env: { SSH_AUTH_SOCK: path.join(os.tmpdir(), 'airlock-no-such-agent.sock') } })),
    'AGENT_UNAVAILABLE',
    'nobody listens there',
  );
  t.equal(await codeOf(agentSigner(bob.fingerprint, { env: agent.env })), 'AGENT_KEY_MISSING', 'a key the agent does not hold');
  t.equal(await codeOf(agentSigner(rsa.fingerprint, { env: agent.env })), 'UNSUPPORTED_KEY', 'an RSA key');
  t.equal(await codeOf(agentSigner('no-such-file.pub', { env: agent.env, cwd: root })), 'USAGE', 'neither fingerprint nor file');
  const signer = await agentSigner(alice.fingerprint, { env: agent.env });
  const { spawnSync } = await import('node:child_process');
  spawnSync('ssh-add', ['-d', alice.publicPath], { env: agent.env });
  t.equal(await codeOf(signer.sign(message, 'airlock')), 'SIGNING_FAILED', 'the key was removed from the agent before signing');
});

/** A unix-socket server that answers each request with `answer(request)`; a stand-in for a broken or lying agent. */
async function fakeAgent(t: { teardown(fn: () => void): void }, answer: (request: Buffer) => Buffer | undefined): Promise<NodeJS.ProcessEnv> {
  const socket = path.join(os.tmpdir(), `airlock-fake-agent-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer((conn) => {
    conn.on('data', (req) => {
      const out = answer(req);
      if (out) conn.write(out);
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => server.close());
  return { SSH_AUTH_SOCK: socket };
}

const frame = (type: number, body: Buffer) =>
  new WireWriter()
    .uint32(body.length + 1)
    .raw(Buffer.from([type]))
    .raw(body)
    .toBuffer();
const identities = (...keys: Array<{ publicLine: string }>) => {
  const w = new WireWriter().uint32(keys.length);
  for (const k of keys) w.string(Buffer.from(k.publicLine.split(' ')[1]!, 'base64')).string('fake');
  return frame(12, w.toBuffer());
};

t.test('a broken or lying agent is refused with a code, and nothing is trusted from it', async (t) => {
  const huge = await fakeAgent(t, () => new WireWriter().uint32(16 * 1024 * 1024).toBuffer());
  t.equal(await codeOf(agentSigner(alice.fingerprint, { env: huge })), 'AGENT_UNAVAILABLE', 'a 16 MiB answer announced: refused before reading it');
  const truncated = await fakeAgent(t, () => frame(12, new WireWriter().uint32(3).toBuffer()));
  t.equal(await codeOf(agentSigner(alice.fingerprint, { env: truncated })), 'AGENT_UNAVAILABLE', 'an identities answer with keys missing');
  const tooMany = await fakeAgent(t, () => frame(12, new WireWriter().uint32(1_000_000).toBuffer()));
  t.equal(await codeOf(agentSigner(alice.fingerprint, { env: tooMany })), 'AGENT_UNAVAILABLE', 'a million keys announced');
  // Lists alice, but signs with bob's key (what a compromised agent might do).
  const liar = await fakeAgent(t, (req) => {
    if (req[4] === 11) return identities(alice);
    const text = sshSign(bob, message);
    const blob = Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64');
    return frame(14, new WireWriter().string(blob.subarray(blob.length - 83)).toBuffer()); // bob's ed25519 signature blob
  });
  const lying = await agentSigner(alice.fingerprint, { env: liar });
  t.equal(await codeOf(lying.sign(message, 'airlock')), 'SIGNING_FAILED', 'a signature that does not verify is never returned');
  const silent = await fakeAgent(t, (req) => (req[4] === 11 ? identities(alice) : undefined));
  const waiting = await agentSigner(alice.fingerprint, { env: silent, signTimeoutMs: 300 });
  t.equal(await codeOf(waiting.sign(message, 'airlock')), 'SIGNING_FAILED', 'an agent that never answers the sign request');
  const refusing = await fakeAgent(t, (req) => (req[4] === 11 ? identities(alice) : frame(5, Buffer.alloc(0))));
  t.equal(await codeOf((await agentSigner(alice.fingerprint, { env: refusing })).sign(message, 'airlock')), 'SIGNING_FAILED', 'SSH_AGENT_FAILURE');
});

t.test('ssh-keygen delegation (the security-key path), exercised with a plain key file', async (t) => {
  const signer = sshKeygenSigner(alice.privatePath, parsePublicKeyLine(alice.publicLine));
  const text = await signer.sign(message, 'airlock');
  t.equal(signer.via, 'ssh-keygen');
  t.equal(sshVerify(root, trust, 'alice@x', text, message).status, 0);
  const wrongKey = sshKeygenSigner(bob.privatePath, parsePublicKeyLine(alice.publicLine));
  t.equal(await codeOf(wrongKey.sign(message, 'airlock')), 'SIGNING_FAILED', 'ssh-keygen signed with another key than the file claimed');
  t.equal(
    await codeOf(sshKeygenSigner(path.join(root, 'missing'), parsePublicKeyLine(alice.publicLine)).sign(message, 'airlock')),
    'SIGNING_FAILED',
    'ssh-keygen fails',
  );
});

t.test('whatever ssh-keygen prints is checked before it is returned', async (t) => {
  const dir = t.testdir();
  const script = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\ncat >/dev/null\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  const token = makeEmulatedKey(SK_ED25519);
  const tokenKey = parsePublicKeyLine(token.publicLine);
  writeFileSync(path.join(dir, 'untouched.sig'), tokenSign(token, message, { flags: 0 }));
  writeFileSync(path.join(dir, 'touched.sig'), tokenSign(token, message));
  const cases: Array<[string, string, string, number?]> = [
    ['garbage on stdout', script('garbage', 'echo hello'), 'SIGNING_FAILED'],
    ['nothing on stdout', script('nothing', 'true'), 'SIGNING_FAILED'],
    ['a failure exit', script('fails', 'echo "sign_and_send_pubkey: signing failed: device not found" >&2; exit 255'), 'SIGNING_FAILED'],
    ['more than 64 KiB', script('flood', 'head -c 200000 /dev/zero'), 'SIGNING_FAILED'],
    ['no answer in time (no touch)', script('sleeps', 'exec sleep 30'), 'SIGNING_FAILED', 300],
    ['a token signature without the touch flag', script('untouched', `cat ${path.join(dir, 'untouched.sig')}`), 'NO_USER_PRESENCE'],
  ];
  for (const [what, command, code, timeoutMs] of cases) {
    const signer = sshKeygenSigner(path.join(dir, 'key'), tokenKey, { command, ...(timeoutMs ? { timeoutMs } : {}) });
    t.equal(await codeOf(signer.sign(message, 'airlock')), code, what);
  }
  const good = sshKeygenSigner(path.join(dir, 'key'), tokenKey, { command: script('touched', `cat ${path.join(dir, 'touched.sig')}`) });
  t.match(await good.sign(message, 'airlock'), /^-----BEGIN SSH SIGNATURE-----/, 'a touched token signature passes');
});

t.test('the CLI: airlock sign --agent, --key through ssh-keygen, airlock pack --sign-agent', async (t) => {
  const scratch = t.testdir();
  const agent = await startAgent(t);
  agent.add(bob.privatePath);
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/agent' });
  const viaAgent = await airlock(['sign', packed.location, '--agent', bob.fingerprint], { env: agent.env });
  t.equal(viaAgent.exitCode, 0, viaAgent.stderr);
  t.match(viaAgent.stdout, /via ssh-agent/);
  const p256Sign = await airlock(['sign', packed.location, '--key', p256.privatePath, '--label', 'p256']);
  t.equal(p256Sign.exitCode, 0, p256Sign.stderr);
  t.match(p256Sign.stdout, /ecdsa-sha2-nistp256 .*via ssh-keygen/, 'a key file airlock does not sign with natively goes to ssh-keygen');
  const verified = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '3', '--json']);
  t.equal(verified.exitCode, 0, verified.stdout);
  t.equal(JSON.parse(verified.stdout).trust.trustedKeys, 3);
  const again = await airlock(['sign', packed.location, '--agent', bob.publicPath], { env: agent.env });
  t.match(again.stdout, /already signed by/, 'a key that already signed is not asked twice');

  const both = await airlock(['sign', packed.location, '--key', alice.privatePath, '--agent', bob.fingerprint], { env: agent.env });
  t.equal(both.errorCode, 'USAGE');
  const neither = await airlock(['sign', packed.location]);
  t.equal(neither.errorCode, 'USAGE');

  const fixturePack = path.join(scratch, 'fixture-pack');
  const res = await airlock(
    [
      'pack',
      fixturePath('model-dir'),
      '--out',
      fixturePack,
      '--name',
      'test/agent-pack',
      '--kind',
      'model-dir',
      '--sign',
      alice.privatePath,
      '--sign-agent',
      bob.fingerprint,
    ],
    { env: agent.env },
  );
  t.equal(res.exitCode, 0, res.stderr);
  t.same(readdirSync(path.join(fixturePack, 'signatures')).sort(), ['alice-airlock.test.sig', 'bob-airlock.test.sig']);
  t.equal((await airlock(['verify', fixturePack, '--trust', trust, '--threshold', '2'])).exitCode, 0);
  const dup = await airlock(
    [
      'pack',
      fixturePath('model-dir'),
      '--out',
      path.join(scratch, 'dup'),
      '--name',
      'test/dup',
      '--kind',
      'model-dir',
      '--sign',
      bob.privatePath,
      '--sign-agent',
      bob.fingerprint,
    ],
    { env: agent.env },
  );
  t.equal(dup.errorCode, 'USAGE', 'the same key by file and by agent');
  t.notOk(existsSync(path.join(scratch, 'dup')), 'nothing packed');
  const missing = await airlock(
    [
      'pack',
      fixturePath('model-dir'),
      '--out',
      path.join(scratch, 'missing'),
      '--name',
      'test/missing',
      '--kind',
      'model-dir',
      '--sign-agent',
      p256.fingerprint,
    ],
    { env: agent.env },
  );
  t.equal(missing.errorCode, 'AGENT_KEY_MISSING', 'found missing before any hashing');
});
