// allowed_signers parsing: what OpenSSH accepts we accept the same way; what we cannot honour is refused loudly.
import t from 'tap';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadAllowedSigners, parseAllowedSigners, parseSignerTime } from '../src/trust/allowed-signers.js';
import { loadPrivateKey } from '../src/trust/ssh-key.js';
import { signSshsig } from '../src/trust/sshsig.js';
import { makeKey, sshVerify } from './helpers/keys.js';

const root = t.testdir();
const alice = makeKey(root, 'alice');
const rsa = makeKey(root, 'rsa', { type: 'rsa' });
const [keyType, keyB64] = alice.publicLine.split(' ') as [string, string];
const key = `${keyType} ${keyB64}`;

t.test('accepts the forms ssh-keygen(1) documents', async (t) => {
  const text = [
    '# comment line',
    '',
    `alice@example.org ${key}`,
    `  a@x,b@y namespaces="airlock,file",valid-after="20240101Z",valid-before="20991231235959Z" ${key} trailing comment words`,
    `"quoted principal@x,c@y" NAMESPACES="air*" ${key}\r`,
    `*@example.org valid-after="202401011230" ${key}`,
  ].join('\n');
  const signers = parseAllowedSigners(text, 'trust');
  t.equal(signers.length, 4);
  t.same(signers[0]!.principals, ['alice@example.org']);
  t.equal(signers[0]!.line, 3);
  t.same(signers[1]!.principals, ['a@x', 'b@y']);
  t.same(signers[1]!.namespaces, ['airlock', 'file']);
  t.equal(signers[1]!.validAfter?.toISOString(), '2024-01-01T00:00:00.000Z');
  t.equal(signers[1]!.validBefore?.toISOString(), '2099-12-31T23:59:59.000Z');
  t.same(signers[2]!.principals, ['quoted principal@x', 'c@y']);
  t.same(signers[2]!.namespaces, ['air*'], 'option names are case-insensitive');
  t.same(signers[3]!.validAfter, new Date(2024, 0, 1, 12, 30), 'no Z: local time, as OpenSSH');
  t.ok(signers.every((s) => s.key.raw.equals(signers[0]!.key.raw)));
});

t.test('lines we accept are accepted by ssh-keygen -Y verify too', async (t) => {
  const dir = t.testdir();
  const msg = Buffer.from('m');
  const sig = signSshsig(msg, await loadPrivateKey(alice.privatePath));
  for (const line of [
    `alice@example.org ${key}`,
    `"alice@example.org,other@x" namespaces="air*",valid-after="20200101" ${key} comment`,
    `alice@example.org Valid-Before="20991231Z" ${key}`,
  ]) {
    const file = path.join(dir, 'as');
    writeFileSync(file, line + '\n');
    t.equal(parseAllowedSigners(line, 'as').length, 1);
    t.equal(sshVerify(dir, file, 'alice@example.org', sig, msg).status, 0, line);
  }
});

t.test('refusals name the file and carry their code', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['rsa key', `ok@x ${key}\nrsa@x ${rsa.publicLine}`, 'UNSUPPORTED_KEY'],
    ['certificate authority', `*@x cert-authority ${key}`, 'UNSUPPORTED_KEY'],
    ['certificate key type', `a@x ssh-ed25519-cert-v01@openssh.com ${keyB64}`, 'UNSUPPORTED_KEY'],
    ['security key type', `a@x sk-ssh-ed25519@openssh.com ${keyB64}`, 'UNSUPPORTED_KEY'],
    ['unknown option', `a@x namespaces="airlock",no-touch-required ${key}`, 'TRUST_INVALID'],
    ['unquoted value (ssh-keygen also refuses)', `a@x valid-after=20240101 ${key}`, 'TRUST_INVALID'],
    ['impossible date', `a@x valid-before="20240231" ${key}`, 'TRUST_INVALID'],
    ['bad time format', `a@x valid-before="2024-01-01" ${key}`, 'TRUST_INVALID'],
    ['option twice', `a@x namespaces="a",namespaces="b" ${key}`, 'TRUST_INVALID'],
    ['empty namespace list entry', `a@x namespaces="a,,b" ${key}`, 'TRUST_INVALID'],
    ['missing key', 'a@x', 'TRUST_INVALID'],
    ['not a key type', `a@x namespaces="a" frobnicate ${keyB64}`, 'TRUST_INVALID'],
    ['bad base64', `a@x ssh-ed25519 AAAA!!!!`, 'TRUST_INVALID'],
    ['blob type differs from field', `a@x ssh-ed25519 ${rsa.publicLine.split(' ')[1]}`, 'TRUST_INVALID'],
    ['unterminated quote', `"a@x ${key}`, 'TRUST_INVALID'],
    ['empty principal', `a@x,,b@y ${key}`, 'TRUST_INVALID'],
  ];
  for (const [name, text, code] of cases) {
    t.throws(() => parseAllowedSigners(text, 'trust/allowed_signers'), { code, path: 'trust/allowed_signers' }, name);
  }
});

t.test('loadAllowedSigners reads a file; a missing file is TRUST_INVALID', async (t) => {
  const dir = t.testdir({ as: `alice@example.org ${key}\n` });
  t.equal((await loadAllowedSigners(path.join(dir, 'as'))).length, 1);
  await t.rejects(loadAllowedSigners(path.join(dir, 'nope')), { code: 'TRUST_INVALID' });
});

t.test('signer times: YYYYMMDD[Z] and YYYYMMDDHHMM[SS][Z]', async (t) => {
  t.equal(parseSignerTime('20240229Z')?.toISOString(), '2024-02-29T00:00:00.000Z');
  t.equal(parseSignerTime('202402291530Z')?.toISOString(), '2024-02-29T15:30:00.000Z');
  t.equal(parseSignerTime('20240229153045Z')?.toISOString(), '2024-02-29T15:30:45.000Z');
  t.same(parseSignerTime('20240229'), new Date(2024, 1, 29));
  for (const bad of ['20230229Z', '2024010', '202401011', '20240101246000Z', '20241301', 'today']) t.equal(parseSignerTime(bad), undefined, bad);
});
