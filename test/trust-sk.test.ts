// Security-key (FIDO) and P-256 signatures: airlock's verdict against the real `ssh-keygen -Y verify`, case by
// case. Where airlock is deliberately stricter (user presence, verify-required) the test says so explicitly.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllowedSignersFile } from '../src/trust/allowed-signers.js';
import { evaluateSignatures, type SignerReport } from '../src/trust/policy.js';
import { parseRevokedKeys } from '../src/trust/revoked-keys.js';
import { parseSshsig } from '../src/trust/sshsig.js';
import { WireReader, WireWriter } from '../src/trust/ssh-wire.js';
import { makeKey, sshSign, sshVerifyWith } from './helpers/keys.js';
import {
  ECDSA,
  FLAG_UP,
  FLAG_UV,
  makeEmulatedKey,
  SK_ECDSA,
  SK_ED25519,
  tokenSign,
  type EmulatedKey,
  type TokenSignOptions,
} from './helpers/sk-emulator.js';

const root = t.testdir();
const manifest = Buffer.from('{"schema":"airlock.bundle/v1","id":"sk-test"}\n');
const now = new Date('2026-06-01T12:00:00Z');
const PRINCIPAL = 'reviewer@example.org';

/** docs/keys.md's recipe for checking by hand: stock ssh-keygen does not know verify-required. */
const forOpenssh = (line: string) => line.replace('verify-required,', '').replace(',verify-required', '').replace(' verify-required ', ' ');

interface Verdicts {
  airlock: SignerReport;
  /** ssh-keygen -Y verify's exit status (0 = good signature) */
  sshKeygen: number | null;
}

let n = 0;
function verdicts(lines: string[], signature: string, opts: { revoked?: string[]; message?: Buffer } = {}): Verdicts {
  const dir = path.join(root, `case-${++n}`);
  execFileSync('mkdir', ['-p', dir]);
  const trust = path.join(dir, 'allowed_signers');
  writeFileSync(trust, lines.map(forOpenssh).join('\n') + '\n');
  let revokedFile: string | undefined;
  if (opts.revoked) {
    revokedFile = path.join(dir, 'revoked');
    writeFileSync(revokedFile, opts.revoked.join('\n') + '\n');
  }
  const message = opts.message ?? manifest;
  const { signers } = parseAllowedSignersFile(lines.join('\n'), 'allowed_signers');
  const revoked = revokedFile ? parseRevokedKeys(Buffer.from(opts.revoked!.join('\n')), revokedFile) : undefined;
  const report = evaluateSignatures(message, [{ name: 'signatures/r.sig', bytes: Buffer.from(signature) }], signers, {
    threshold: 1,
    now,
    ...(revoked ? { revoked } : {}),
  });
  const ssh = sshVerifyWith(dir, {
    allowedSigners: trust,
    principal: PRINCIPAL,
    signature,
    message,
    verifyTime: now,
    ...(revokedFile ? { revoked: revokedFile } : {}),
  });
  return { airlock: report.signers[0]!, sshKeygen: ssh.status };
}

const line = (key: { publicLine: string }, options = '') => `${PRINCIPAL} ${options ? `${options} ` : ''}${key.publicLine}`;

for (const type of [SK_ED25519, SK_ECDSA] as const) {
  t.test(`${type}: airlock agrees with ssh-keygen -Y verify`, async (t) => {
    const key = makeEmulatedKey(type);
    const other = makeEmulatedKey(type, { application: 'ssh:airlock' });
    const sign = (o: TokenSignOptions = {}, k: EmulatedKey = key) => tokenSign(k, manifest, o);
    const same: Array<[string, Verdicts, string]> = [
      ['a touched signature', verdicts([line(key)], sign()), 'trusted'],
      ['touched and verified, counter at its maximum', verdicts([line(key)], sign({ flags: FLAG_UP | FLAG_UV, counter: 0xffffffff })), 'trusted'],
      ['hash sha256 instead of sha512', verdicts([line(key)], sign({ hash: 'sha256' })), 'trusted'],
      ['verify-required, and the token verified its user', verdicts([line(key, 'verify-required')], sign({ flags: FLAG_UP | FLAG_UV })), 'trusted'],
      [
        'namespaces="airlock",verify-required',
        verdicts([line(key, 'namespaces="airlock",verify-required')], sign({ flags: FLAG_UP | FLAG_UV })),
        'trusted',
      ],
    ];
    for (const [what, v, status] of same) {
      t.equal(v.airlock.status, status, `${what}: airlock`);
      t.equal(v.sshKeygen, 0, `${what}: ssh-keygen accepts too`);
    }
    const rejected: Array<[string, Verdicts, string]> = [
      ['the token signed for another application', verdicts([line(key)], sign({ signedApplication: 'ssh:other' })), 'SIGNATURE_INVALID'],
      ['the same token key registered under another application', verdicts([line(key)], sign({}, other)), 'UNTRUSTED_SIGNER'],
      ['a revoked key', verdicts([line(key)], sign(), { revoked: [key.publicLine] }), 'KEY_REVOKED'],
      [
        'a changed manifest',
        verdicts([line(key)], sign(), { message: Buffer.from('{"schema":"airlock.bundle/v1","id":"other"}\n') }),
        'SIGNATURE_INVALID',
      ],
      ['another namespace', verdicts([line(key)], sign({ namespace: 'file' })), 'WRONG_NAMESPACE'],
      ['a key limited to other namespaces', verdicts([line(key, 'namespaces="git"')], sign()), 'WRONG_NAMESPACE'],
      ['a key not valid yet', verdicts([line(key, 'valid-after="20270101Z"')], sign()), 'SIGNER_NOT_VALID_NOW'],
    ];
    for (const [what, v, code] of rejected) {
      t.equal(v.airlock.code, code, `${what}: airlock`);
      t.not(v.sshKeygen, 0, `${what}: ssh-keygen rejects too`);
    }
    // Deliberately stricter than ssh-keygen -Y verify, which never looks at the flags (docs/keys.md).
    const stricter: Array<[string, Verdicts, string]> = [
      ['nobody touched the token (flags 0)', verdicts([line(key)], sign({ flags: 0 })), 'NO_USER_PRESENCE'],
      ['verified but not touched (flags 0x04)', verdicts([line(key)], sign({ flags: FLAG_UV })), 'NO_USER_PRESENCE'],
      ['verify-required, touched but not verified', verdicts([line(key, 'verify-required')], sign()), 'NO_USER_VERIFICATION'],
    ];
    for (const [what, v, code] of stricter) {
      t.equal(v.airlock.code, code, `${what}: airlock refuses`);
      t.equal(v.sshKeygen, 0, `${what}: stock ssh-keygen accepts (it does not check the flags)`);
    }
  });
}

t.test('ecdsa-sha2-nistp256 (plain P-256) keys: airlock agrees with ssh-keygen', async (t) => {
  const real = makeKey(root, 'p256', { type: 'ecdsa', bits: 256 });
  const realSig = sshSign(real, manifest);
  t.equal(verdicts([line(real)], realSig).airlock.status, 'trusted', 'a signature made by the real ssh-keygen');
  const key = makeEmulatedKey(ECDSA);
  const good = verdicts([line(key)], tokenSign(key, manifest));
  t.equal(good.airlock.status, 'trusted');
  t.equal(good.sshKeygen, 0);
  const revoked = verdicts([line(key)], tokenSign(key, manifest), { revoked: [key.publicLine] });
  t.equal(revoked.airlock.code, 'KEY_REVOKED');
  t.not(revoked.sshKeygen, 0);
  const changed = verdicts([line(real)], realSig, { message: Buffer.from('x') });
  t.equal(changed.airlock.code, 'SIGNATURE_INVALID');
  t.not(changed.sshKeygen, 0);
});

t.test('mixed thresholds of security keys and plain keys count distinct keys, whatever their type', async (t) => {
  const alice = makeKey(root, 'alice-plain');
  const skEd = makeEmulatedKey(SK_ED25519, { comment: 'bob-token' });
  const skEc = makeEmulatedKey(SK_ECDSA, { comment: 'carol-token' });
  const trust = parseAllowedSignersFile(
    [`alice@x ${alice.publicLine}`, `bob@x verify-required ${skEd.publicLine}`, `carol@x ${skEc.publicLine}`].join('\n'),
    'allowed_signers',
  ).signers;
  const sigs = (o: { ed?: TokenSignOptions; ec?: TokenSignOptions } = {}) => [
    { name: 'signatures/alice.sig', bytes: Buffer.from(sshSign(alice, manifest)) },
    { name: 'signatures/bob.sig', bytes: Buffer.from(tokenSign(skEd, manifest, { flags: FLAG_UP | FLAG_UV, ...o.ed })) },
    { name: 'signatures/carol.sig', bytes: Buffer.from(tokenSign(skEc, manifest, o.ec)) },
  ];
  const all = evaluateSignatures(manifest, sigs(), trust, { threshold: 3, now });
  t.match(all, { trustedKeys: 3, satisfied: true });
  t.same(
    all.signers.map((s) => s.keyType),
    ['ssh-ed25519', SK_ED25519, SK_ECDSA],
  );

  const untouched = evaluateSignatures(manifest, sigs({ ec: { flags: 0 } }), trust, { threshold: 3, now });
  t.match(untouched, { trustedKeys: 2, satisfied: false });
  t.same(
    untouched.failures.map((f) => f.code),
    ['NO_USER_PRESENCE', 'THRESHOLD_NOT_MET'],
  );
  t.match(
    evaluateSignatures(manifest, sigs({ ec: { flags: 0 } }), trust, { threshold: 2, now }),
    { satisfied: true, failures: [] },
    'two good keys still meet threshold 2',
  );

  const noPin = evaluateSignatures(manifest, sigs({ ed: { flags: FLAG_UP } }), trust, { threshold: 3, now });
  t.same(
    noPin.failures.map((f) => f.code),
    ['NO_USER_VERIFICATION', 'THRESHOLD_NOT_MET'],
  );

  const revoked = parseRevokedKeys(Buffer.from(`${skEd.publicLine}\n${alice.publicLine}\n`), 'revoked');
  const withRevoked = evaluateSignatures(manifest, sigs(), trust, { threshold: 2, now, revoked });
  t.match(withRevoked, { trustedKeys: 1, satisfied: false });
  t.same(
    withRevoked.signers.map((s) => s.status),
    ['revoked', 'revoked', 'trusted'],
  );
  t.same(
    withRevoked.failures.map((f) => f.code),
    ['KEY_REVOKED', 'KEY_REVOKED', 'THRESHOLD_NOT_MET'],
  );
});

// Rebuild a signature's outer blob with its inner signature blob changed, keeping armour and everything else.
function withSignatureBlob(armoured: string, change: (sigBlob: Buffer) => Buffer): string {
  const body = Buffer.from(armoured.split('\n').slice(1, -2).join(''), 'base64');
  const r = new WireReader(body);
  const magic = r.bytes(6);
  const version = r.uint32();
  const key = r.string();
  const ns = r.string();
  const reserved = r.string();
  const hash = r.string();
  const sig = r.string();
  const blob = new WireWriter()
    .raw(magic)
    .uint32(version)
    .string(key)
    .string(ns)
    .string(reserved)
    .string(hash)
    .string(change(Buffer.from(sig)))
    .toBuffer();
  return `-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64').replace(/.{70}/g, '$&\n')}\n-----END SSH SIGNATURE-----\n`;
}

/** Split an ecdsa(-sk) signature blob into its parts, rebuild it with r and s changed. */
function ecdsaWith(sigBlob: Buffer, change: (r: Buffer, s: Buffer) => [Buffer, Buffer]): Buffer {
  const rd = new WireReader(sigBlob);
  const type = rd.text();
  const inner = new WireReader(rd.string());
  const [r, s] = change(Buffer.from(inner.string()), Buffer.from(inner.string()));
  return Buffer.concat([new WireWriter().string(type).string(new WireWriter().string(r).string(s).toBuffer()).toBuffer(), rd.bytes(rd.remaining)]);
}

t.test('hostile security-key signature blobs: each refused with its code, and by ssh-keygen too', async (t) => {
  const ed = makeEmulatedKey(SK_ED25519);
  const ec = makeEmulatedKey(SK_ECDSA);
  const cases: Array<[string, EmulatedKey, (b: Buffer) => Buffer, string]> = [
    ['a trailing byte after the counter', ed, (b) => Buffer.concat([b, Buffer.from([0])]), 'SIGNATURE_MALFORMED'],
    ['the counter cut off', ed, (b) => b.subarray(0, b.length - 4), 'SIGNATURE_MALFORMED'],
    ['flags and counter missing', ec, (b) => b.subarray(0, b.length - 5), 'SIGNATURE_MALFORMED'],
    [
      'a 63-byte ed25519 signature',
      ed,
      (b) =>
        new WireWriter()
          .string(SK_ED25519)
          .string(b.subarray(4 + SK_ED25519.length + 4, 4 + SK_ED25519.length + 4 + 63))
          .raw(b.subarray(b.length - 5))
          .toBuffer(),
      'SIGNATURE_MALFORMED',
    ],
    [
      'a plain ed25519 signature type for an sk key',
      ed,
      (b) => Buffer.concat([new WireWriter().string('ssh-ed25519').toBuffer(), b.subarray(4 + SK_ED25519.length)]),
      'SIGNATURE_MALFORMED',
    ],
    ['a negative ECDSA r', ec, (b) => ecdsaWith(b, (r, s) => [Buffer.concat([Buffer.from([0x80]), r]), s]), 'SIGNATURE_MALFORMED'],
    [
      'an ECDSA r of 33 significant bytes',
      ec,
      (b) => ecdsaWith(b, (r, s) => [Buffer.concat([Buffer.from([0x01]), r.subarray(r[0] === 0 ? 1 : 0)]), s]),
      'SIGNATURE_INVALID',
    ],
    ['bytes after the ECDSA s', ec, (b) => ecdsaWith(b, (r, s) => [r, Buffer.concat([s, Buffer.from([0, 0, 0, 0])])]), 'SIGNATURE_INVALID'],
  ];
  for (const [what, key, change, code] of cases) {
    const v = verdicts([line(key)], withSignatureBlob(tokenSign(key, manifest), change));
    t.equal(v.airlock.code, code, `${what}: airlock`);
    t.not(v.sshKeygen, 0, `${what}: ssh-keygen rejects too`);
  }
  const webauthn = withSignatureBlob(tokenSign(ec, manifest), (b) =>
    Buffer.concat([new WireWriter().string('webauthn-sk-ecdsa-sha2-nistp256@openssh.com').toBuffer(), b.subarray(4 + SK_ECDSA.length)]),
  );
  t.equal(verdicts([line(ec)], webauthn).airlock.code, 'UNSUPPORTED_KEY', 'webauthn signatures (browser-made) are refused by name');
});

t.test('ECDSA values with extra leading zeros verify, as OpenSSH trims them', async (t) => {
  const ec = makeEmulatedKey(SK_ECDSA);
  const padded = withSignatureBlob(tokenSign(ec, manifest), (b) => ecdsaWith(b, (r, s) => [Buffer.concat([Buffer.alloc(3), r]), s]));
  const v = verdicts([line(ec)], padded);
  t.equal(v.airlock.status, 'trusted');
  t.equal(v.sshKeygen, 0);
});

t.test('a signature blob with a non-empty reserved field verifies as ssh-keygen verifies it (over an empty one)', async (t) => {
  const key = makeEmulatedKey(SK_ED25519);
  const body = Buffer.from(tokenSign(key, manifest).split('\n').slice(1, -2).join(''), 'base64');
  const r = new WireReader(body);
  const head = r.bytes(10);
  const k = r.string();
  const ns = r.string();
  r.string();
  const rest = r.bytes(r.remaining);
  const blob = new WireWriter().raw(head).string(k).string(ns).string('future').raw(rest).toBuffer();
  const v = verdicts([line(key)], `-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`);
  t.equal(v.airlock.status, 'trusted');
  t.equal(v.sshKeygen, 0);
});

/** A copy of `key`'s blob rebuilt by `change` (type, curve/raw, point, application as parsed fields). */
function keyLineWith(key: EmulatedKey, change: (fields: Buffer[]) => Buffer[]): string {
  const r = new WireReader(key.blob);
  const fields: Buffer[] = [];
  while (r.remaining > 0) fields.push(Buffer.from(r.string()));
  const w = new WireWriter();
  for (const f of change(fields)) w.string(f);
  return `${key.type} ${w.toBuffer().toString('base64')}`;
}

t.test('hostile security keys in allowed_signers are TRUST_INVALID naming the line; ssh-keygen reports the line too', async (t) => {
  const ec = makeEmulatedKey(SK_ECDSA);
  const ed = makeEmulatedKey(SK_ED25519);
  const offCurve = (f: Buffer[]) => {
    const p = Buffer.from(f[2]!);
    p[64] = p[64]! ^ 1;
    return [f[0]!, f[1]!, p, f[3]!];
  };
  const cases: Array<[string, string]> = [
    ['a P-256 point off the curve', keyLineWith(ec, offCurve)],
    [
      'a compressed P-256 point',
      keyLineWith(ec, (f) => [f[0]!, f[1]!, Buffer.concat([Buffer.from([2 + (f[2]![64]! & 1)]), f[2]!.subarray(1, 33)]), f[3]!]),
    ],
    ['another curve name', keyLineWith(ec, (f) => [f[0]!, Buffer.from('nistp384'), f[2]!, f[3]!])],
    ['an application with a NUL byte', keyLineWith(ed, (f) => [f[0]!, f[1]!, Buffer.from('ssh:\0evil')])],
    ['no application at all', keyLineWith(ed, (f) => [f[0]!, f[1]!])],
    ['a 31-byte ed25519 key', keyLineWith(ed, (f) => [f[0]!, f[1]!.subarray(1), f[2]!])],
    ['bytes after the application', keyLineWith(ed, (f) => [...f, Buffer.from('x')])],
  ];
  for (const [what, keyLine] of cases) {
    t.throws(
      () => parseAllowedSignersFile(`ok@x ${ed.publicLine}\n${PRINCIPAL} ${keyLine}`, 'as'),
      { code: 'TRUST_INVALID', message: /^as:2: / },
      what,
    );
    const dir = path.join(root, `hostile-key-${++n}`);
    execFileSync('mkdir', ['-p', dir]);
    // ssh-keygen logs a broken line and goes on to the next (airlock refuses the whole file instead).
    writeFileSync(path.join(dir, 'as'), `${PRINCIPAL} ${keyLine}\n${PRINCIPAL} ${ed.publicLine}\n`);
    const ssh = sshVerifyWith(dir, {
      allowedSigners: path.join(dir, 'as'),
      principal: PRINCIPAL,
      signature: tokenSign(ed, manifest),
      message: manifest,
    });
    t.match(ssh.stderr, /as:1: (invalid key|bad options)/, `${what}: ssh-keygen finds line 1 broken too`);
  }
  const sig = withSignatureBlob(tokenSign(ec, manifest), (b) => b);
  const body = Buffer.from(sig.split('\n').slice(1, -2).join(''), 'base64');
  const bad = Buffer.from(keyLineWith(ec, offCurve).split(' ')[1]!, 'base64');
  const r = new WireReader(body);
  const head = r.bytes(10);
  r.string();
  const blob = new WireWriter().raw(head).string(bad).raw(r.bytes(r.remaining)).toBuffer();
  t.throws(
    () => parseSshsig(Buffer.from(`-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`), 'x.sig'),
    { code: 'SIGNATURE_MALFORMED', path: 'x.sig' },
    'an off-curve key inside a signature',
  );
});
