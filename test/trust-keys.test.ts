// OpenSSH ed25519 keys: airlock reads what ssh-keygen writes and writes what ssh-keygen reads.
import t from 'tap';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { blowfishInitialWords } from '../src/trust/blowfish.js';
import { bcryptPbkdf } from '../src/trust/bcrypt-pbkdf.js';
import { fingerprint, generateKeyPair, loadPrivateKey, parsePublicKeyLine } from '../src/trust/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../src/trust/sshsig.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { makeKey, sshKeygen, sshSign, sshVerify, writeAllowedSigners } from './helpers/keys.js';

const message = Buffer.from('{"schema":"airlock.bundle/v1"}\n');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

t.test('fingerprint equals ssh-keygen -l', async (t) => {
  const key = makeKey(t.testdir(), 'alice');
  t.equal(fingerprint(parsePublicKeyLine(key.publicLine)), key.fingerprint);
  const loaded = await loadPrivateKey(key.privatePath);
  t.equal(fingerprint(loaded.public), key.fingerprint);
  t.equal(loaded.public.comment, 'alice@airlock.test', 'comment read from the private key');
});

t.test('a key made by ssh-keygen signs in airlock and ssh-keygen accepts the signature', async (t) => {
  const dir = t.testdir();
  const key = makeKey(dir, 'alice');
  const signers = path.join(dir, 'allowed_signers');
  writeAllowedSigners(signers, [{ principals: 'alice@example.org', key }]);
  const sig = signSshsig(message, await loadPrivateKey(key.privatePath));
  t.equal(sshVerify(dir, signers, 'alice@example.org', sig, message).status, 0);
});

t.test('airlock keygen keys: ssh-keygen -y prints the same .pub and ssh-keygen -Y sign uses them', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'made_by_airlock');
  const pub = await generateKeyPair(file, 'made by airlock');
  t.equal(statSync(file).mode & 0o777, 0o600, 'private key is 0600');
  const pubText = readFileSync(`${file}.pub`, 'utf8');
  t.match(pubText, /^ssh-ed25519 AAAA[A-Za-z0-9+/]+=* made by airlock\n$/);
  const derived = sshKeygen(['-y', '-f', file]);
  t.equal(derived.status, 0, derived.stderr);
  t.equal(derived.stdout.trim(), pubText.trim(), 'ssh-keygen -y agrees with the .pub');
  t.equal(sshKeygen(['-l', '-f', `${file}.pub`]).stdout.split(' ')[1], fingerprint(pub));

  const signers = path.join(dir, 'allowed_signers');
  writeAllowedSigners(signers, [{ principals: 'ops@example.org', key: pubText }]);
  const byOpenSsh = sshSign({ privatePath: file }, message);
  t.equal(sshVerify(dir, signers, 'ops@example.org', byOpenSsh, message).status, 0);
  t.equal(verifySshsig(message, parseSshsig(Buffer.from(byOpenSsh), 'sig'), 'airlock'), undefined);
  const reloaded = await loadPrivateKey(file);
  t.equal(signSshsig(message, reloaded), byOpenSsh, 'airlock and ssh-keygen make the same (deterministic) signature');
});

t.test('generateKeyPair never overwrites', async (t) => {
  const dir = t.testdir({ taken: 'precious', 'pubtaken.pub': 'precious' });
  t.equal(await codeOf(generateKeyPair(path.join(dir, 'taken'))), 'KEY_EXISTS');
  t.equal(readFileSync(path.join(dir, 'taken'), 'utf8'), 'precious');
  t.equal(await codeOf(generateKeyPair(path.join(dir, 'pubtaken'))), 'KEY_EXISTS', 'an existing .pub also blocks');
  t.throws(() => statSync(path.join(dir, 'pubtaken')), 'no private key left behind');
});

t.test('passphrase-protected keys (aes256-ctr, the ssh-keygen default)', async (t) => {
  const dir = t.testdir({ right: 'secret\n', wrong: 'not it\n' });
  const key = makeKey(dir, 'locked', { passphrase: 'secret' });
  const loaded = await loadPrivateKey(key.privatePath, { passphraseFile: path.join(dir, 'right') });
  t.equal(fingerprint(loaded.public), key.fingerprint);
  const signers = path.join(dir, 'allowed_signers');
  writeAllowedSigners(signers, [{ principals: 'locked@example.org', key }]);
  t.equal(sshVerify(dir, signers, 'locked@example.org', signSshsig(message, loaded), message).status, 0);

  t.equal(await codeOf(loadPrivateKey(key.privatePath, { passphraseFile: path.join(dir, 'wrong') })), 'BAD_PASSPHRASE');
  t.equal(await codeOf(loadPrivateKey(key.privatePath, { passphrase: '' })), 'BAD_PASSPHRASE');
  t.equal(await codeOf(loadPrivateKey(key.privatePath)), 'PASSPHRASE_REQUIRED', 'no passphrase and no terminal');
  const asked: string[] = [];
  const viaPrompt = await loadPrivateKey(key.privatePath, { prompt: async (q) => (asked.push(q), 'secret') });
  t.equal(fingerprint(viaPrompt.public), key.fingerprint);
  t.equal(asked.length, 1, 'prompted once');
});

t.test('every AES cipher ssh-keygen -Z offers; chacha20-poly1305 is refused clearly', async (t) => {
  const dir = t.testdir();
  for (const cipher of ['aes128-ctr', 'aes192-cbc', 'aes256-cbc', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']) {
    const key = makeKey(dir, cipher, { passphrase: 'secret', cipher });
    t.equal(fingerprint((await loadPrivateKey(key.privatePath, { passphrase: 'secret' })).public), key.fingerprint, cipher);
    t.equal(await codeOf(loadPrivateKey(key.privatePath, { passphrase: 'secreT' })), 'BAD_PASSPHRASE', `${cipher}, wrong passphrase`);
  }
  const chacha = makeKey(dir, 'chacha', { passphrase: 'secret', cipher: 'chacha20-poly1305@openssh.com' });
  t.equal(await codeOf(loadPrivateKey(chacha.privatePath, { passphrase: 'secret' })), 'UNSUPPORTED_KEY');
});

t.test('bcrypt_pbkdf and Blowfish constants match published values', async (t) => {
  // Known answer from the reference implementations (OpenBSD, py-bcrypt): kdf("password", "salt", 32 bytes, 4 rounds).
  t.equal(
    bcryptPbkdf(Buffer.from('password'), Buffer.from('salt'), 32, 4).toString('hex'),
    '5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9',
  );
  const words = blowfishInitialWords();
  t.same([words[0], words[17], words[18], words[1041]], [0x243f6a88, 0x8979fb1b, 0xd1310ba6, 0x3ac372e6], 'P[0], P[17], S1[0], S4[255]');
});

t.test('keys of types airlock does not verify, and non-OpenSSH key files, are refused with UNSUPPORTED_KEY', async (t) => {
  const dir = t.testdir();
  const rsa = makeKey(dir, 'rsa', { type: 'rsa' });
  const p384 = makeKey(dir, 'p384', { type: 'ecdsa', bits: 384 });
  const p256 = makeKey(dir, 'p256', { type: 'ecdsa', bits: 256 });
  t.equal(await codeOf(loadPrivateKey(rsa.privatePath)), 'UNSUPPORTED_KEY');
  t.equal(await codeOf(loadPrivateKey(p256.privatePath)), 'UNSUPPORTED_KEY', 'airlock itself signs with ed25519 only');
  t.throws(() => parsePublicKeyLine(rsa.publicLine), { code: 'UNSUPPORTED_KEY' });
  t.throws(() => parsePublicKeyLine(p384.publicLine), { code: 'UNSUPPORTED_KEY' });
  t.match(parsePublicKeyLine(p256.publicLine), { type: 'ecdsa-sha2-nistp256' }, 'P-256 public keys are verified');
  const pem = path.join(dir, 'pem');
  t.equal(sshKeygen(['-q', '-t', 'ecdsa', '-m', 'PEM', '-N', '', '-f', pem]).status, 0);
  t.equal(await codeOf(loadPrivateKey(pem)), 'UNSUPPORTED_KEY', 'PEM format');
});

t.test('broken key files are KEY_INVALID, never a crash', async (t) => {
  const dir = t.testdir({ garbage: 'hello\n' });
  const key = makeKey(dir, 'good');
  t.equal(await codeOf(loadPrivateKey(path.join(dir, 'garbage'))), 'KEY_INVALID');
  t.equal(await codeOf(loadPrivateKey(key.publicPath)), 'KEY_INVALID', 'a .pub given as private key');
  t.equal(await codeOf(loadPrivateKey(path.join(dir, 'missing'))), 'KEY_INVALID');

  const text = readFileSync(key.privatePath, 'utf8');
  const body = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const armour = (b: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const truncated = path.join(dir, 'truncated');
  writeFileSync(truncated, armour(body.subarray(0, body.length - 20)));
  t.equal(await codeOf(loadPrivateKey(truncated)), 'KEY_INVALID', 'truncated');
  // The private section starts with the checkint pair; spoil the first one.
  const flipped = Buffer.from(body);
  flipped[findPrivateSection(flipped) + 4]! ^= 0xff;
  const badCheck = path.join(dir, 'badcheck');
  writeFileSync(badCheck, armour(flipped));
  t.equal(await codeOf(loadPrivateKey(badCheck)), 'KEY_INVALID', 'checkint mismatch');
});

// Offset of the private section's length field: after magic, cipher, kdf, kdfoptions, count and the public key.
function findPrivateSection(b: Buffer): number {
  let o = 'openssh-key-v1\0'.length;
  for (let i = 0; i < 3; i++) o += 4 + b.readUInt32BE(o);
  o += 4;
  o += 4 + b.readUInt32BE(o);
  return o;
}

t.test('a world-readable key still loads, with a warning', async (t) => {
  const dir = t.testdir();
  const key = makeKey(dir, 'loose');
  chmodSync(key.privatePath, 0o644);
  const warnings: string[] = [];
  await loadPrivateKey(key.privatePath, { warn: (m) => warnings.push(m) });
  t.equal(warnings.length, 1);
});

t.test('the demo fixture key matches its .pub and its allowed_signers file', async (t) => {
  const dir = path.join(PACKAGE_ROOT, 'fixtures', 'keys');
  const key = await loadPrivateKey(path.join(dir, 'demo_ed25519'));
  const pub = parsePublicKeyLine(readFileSync(path.join(dir, 'demo_ed25519.pub'), 'utf8'));
  t.equal(fingerprint(key.public), fingerprint(pub));
  t.equal(pub.comment, 'airlock-demo-key DO NOT USE IN PRODUCTION');
  const tmp = t.testdir();
  const r = sshVerify(tmp, path.join(dir, 'allowed_signers.demo'), 'demo@airlock.invalid', signSshsig(message, key), message);
  t.equal(r.status, 0, r.stderr);
});
