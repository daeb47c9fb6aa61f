// allowed_signers parsing: what OpenSSH accepts we accept the same way; what we cannot honour is refused loudly.
import t from 'tap';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  loadAllowedSigners,
  parseAllowedSigners,
  parseAllowedSignersFile,
  parseSignerTime,
  readAllowedSigners,
} from '../src/trust/allowed-signers.js';
import { loadPrivateKey } from '../src/trust/ssh-key.js';
import { signSshsig } from '../src/trust/sshsig.js';
import { makeKey, sshVerify, sshVerifyWith } from './helpers/keys.js';

const root = t.testdir();
const alice = makeKey(root, 'alice');
const rsa = makeKey(root, 'rsa', { type: 'rsa' });
const p384 = makeKey(root, 'p384', { type: 'ecdsa', bits: 384 });
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
  t.ok(signers.every((s) => s.key.blob.equals(signers[0]!.key.blob)));
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
    ['only an rsa key: nothing usable left', `rsa@x ${rsa.publicLine}`, 'TRUST_INVALID'],
    ['certificate key type whose blob is not one', `a@x ssh-ed25519-cert-v01@openssh.com ${keyB64}`, 'TRUST_INVALID'],
    ['security key type whose blob is ed25519', `a@x sk-ssh-ed25519@openssh.com ${keyB64}`, 'TRUST_INVALID'],
    ['no-touch-required (ssh-keygen refuses it too)', `a@x namespaces="airlock",no-touch-required ${key}`, 'TRUST_INVALID'],
    ['verify-required with a value', `a@x verify-required="yes" ${key}`, 'TRUST_INVALID'],
    ['cert-authority with a value', `a@x cert-authority="x" ${key}`, 'TRUST_INVALID'],
    ['valid-before not after valid-after (sshsigopt_parse refuses)', `a@x valid-after="20250101Z",valid-before="20250101Z" ${key}`, 'TRUST_INVALID'],
    ['a bad option on a line that would be skipped is still fatal', `ok@x ${key}\nrsa@x bogus="1" ${rsa.publicLine}`, 'TRUST_INVALID'],
    ['comments only: no key at all', '# nothing here\n\n', 'TRUST_INVALID'],
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

t.test('a line airlock cannot use is skipped with a warning naming the line, not fatal', async (t) => {
  const text = [`ok@x ${key}`, `rsa@x ${rsa.publicLine}`, `*@x cert-authority ${key}`, `p384@x ${p384.publicLine}`].join('\n');
  const { signers, warnings } = parseAllowedSignersFile(text, 'as');
  t.equal(signers.length, 1);
  t.equal(warnings.length, 3);
  t.match(warnings[0], /^as:2: .*ssh-rsa/);
  t.match(warnings[1], /^as:3: cert-authority/);
  t.match(warnings[2], /^as:4: .*ecdsa-sha2-nistp384/);
});

t.test('verify-required is a flag option, recorded on the line', async (t) => {
  const [s] = parseAllowedSigners(`a@x verify-required,namespaces="airlock" ${key}`, 'as');
  t.equal(s!.verifyRequired, true);
  t.same(s!.namespaces, ['airlock']);
  t.equal(parseAllowedSigners(`a@x ${key}`, 'as')[0]!.verifyRequired, undefined);
});

t.test('validity times that name no real moment are TRUST_INVALID naming the line, never "no bound"', async (t) => {
  for (const [what, value] of [
    ['month 13', '20241301Z'],
    ['month 0', '20240001Z'],
    ['30 February', '20240230Z'],
    ['29 February of a common year', '20230229Z'],
    ['31 April', '20240431Z'],
    ['day 0', '20240100Z'],
    ['hour 25', '202401012500Z'],
    ['hour 24', '202401012400Z'],
    ['minute 60', '202401011260Z'],
    ['second 60', '20240101125960Z'],
    ['the epoch itself (OpenSSH refuses 0)', '19700101Z'],
    ['before the epoch', '19691231Z'],
    ['year 0099 (never read as 1999)', '00990101Z'],
    ['ten digits', '2024010112Z'],
    ['a zone other than Z/UTC', '20240101+0100'],
  ]) {
    for (const option of ['valid-after', 'valid-before']) {
      const text = `ok@x ${key}\nbad@x ${option}="${value}" ${key}`;
      t.throws(() => parseAllowedSigners(text, 'as'), { code: 'TRUST_INVALID', message: /^as:2: / }, `${option} ${what}`);
    }
  }
});

t.test('a time without Z is local standard time, exactly as ssh-keygen reads it', async (t) => {
  const dir = t.testdir();
  const previous = process.env['TZ'];
  process.env['TZ'] = 'Europe/Berlin'; // CEST (+2) in July, but OpenSSH's mktime(tm_isdst = 0) reads CET (+1)
  t.teardown(() => {
    if (previous === undefined) delete process.env['TZ'];
    else process.env['TZ'] = previous;
  });
  const line = `alice@example.org valid-after="20240701" ${key}`;
  const [s] = parseAllowedSigners(line, 'as');
  t.equal(s!.validAfter!.toISOString(), '2024-06-30T23:00:00.000Z');
  const file = path.join(dir, 'as');
  writeFileSync(file, line + '\n');
  const msg = Buffer.from('m');
  const sig = signSshsig(msg, await loadPrivateKey(alice.privatePath));
  const env = { ...process.env, TZ: 'Europe/Berlin' };
  const at = (iso: string) =>
    sshVerifyWith(dir, { allowedSigners: file, principal: 'alice@example.org', signature: sig, message: msg, verifyTime: new Date(iso), env }).status;
  t.not(at('2024-06-30T22:59:59Z'), 0, 'ssh-keygen: not yet valid one second before');
  t.equal(at('2024-06-30T23:00:00Z'), 0, 'ssh-keygen: valid from the same second airlock says');
});

t.test('a FIFO as trust file is refused at once, never waited on', async (t) => {
  const dir = t.testdir();
  const fifo = path.join(dir, 'as');
  execFileSync('mkfifo', [fifo]);
  await t.rejects(readAllowedSigners(fifo), { code: 'TRUST_INVALID', path: fifo });
});

t.test('loadAllowedSigners reads a file; a missing file is TRUST_INVALID', async (t) => {
  const dir = t.testdir({ as: `alice@example.org ${key}\n` });
  t.equal((await loadAllowedSigners(path.join(dir, 'as'))).length, 1);
  await t.rejects(loadAllowedSigners(path.join(dir, 'nope')), { code: 'TRUST_INVALID' });
});

const timeOf = (v: string) => {
  const r = parseSignerTime(v);
  return 'time' in r ? r.time : undefined;
};

t.test('signer times: YYYYMMDD[Z] and YYYYMMDDHHMM[SS][Z]', async (t) => {
  t.equal(timeOf('20240229Z')?.toISOString(), '2024-02-29T00:00:00.000Z');
  t.equal(timeOf('202402291530Z')?.toISOString(), '2024-02-29T15:30:00.000Z');
  t.equal(timeOf('20240229153045Z')?.toISOString(), '2024-02-29T15:30:45.000Z');
  t.equal(timeOf('20240229153045utc')?.toISOString(), '2024-02-29T15:30:45.000Z', 'UTC suffix, any case, as parse_absolute_time');
  t.equal(timeOf('20240229z')?.toISOString(), '2024-02-29T00:00:00.000Z');
  t.same(timeOf('20240229'), new Date(2024, 1, 29));
  for (const bad of ['20230229Z', '2024010', '202401011', '20240101246000Z', '20241301', 'today']) t.equal(timeOf(bad), undefined, bad);
});
