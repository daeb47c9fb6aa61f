// The threshold policy: distinct trusted keys over the exact manifest bytes, with OpenSSH's per-key limits.
import t from 'tap';
import { parseAllowedSigners } from '../src/trust/allowed-signers.js';
import { describeSignatures, evaluateSignatures, type SignatureInput } from '../src/trust/policy.js';
import { makeKey, sshSign, type TestKey } from './helpers/keys.js';

const root = t.testdir();
const alice = makeKey(root, 'alice');
const bob = makeKey(root, 'bob');
const mallory = makeKey(root, 'mallory');
const manifest = Buffer.from('{"schema":"airlock.bundle/v1","id":"b1"}\n');
const now = new Date('2026-06-01T12:00:00Z');

const sig = (name: string, key: TestKey, bytes = manifest, namespace = 'airlock'): SignatureInput => ({
  name: `signatures/${name}.sig`,
  bytes: Buffer.from(sshSign(key, bytes, namespace)),
});
const signers = (lines: string[]) => parseAllowedSigners(lines.join('\n'), 'allowed_signers');
const trustBoth = signers([`alice@x namespaces="airlock" ${alice.publicLine}`, `bob@x ${bob.publicLine}`]);
const codes = (fs: Array<{ code: string }>) => fs.map((f) => f.code);

t.test('one trusted signature satisfies threshold 1', async (t) => {
  const r = evaluateSignatures(manifest, [sig('alice', alice)], trustBoth, { threshold: 1, now });
  t.match(r, { threshold: 1, trustedKeys: 1, satisfied: true, failures: [] });
  t.match(r.signers[0], {
    signature: 'signatures/alice.sig',
    status: 'trusted',
    fingerprint: alice.fingerprint,
    keyType: 'ssh-ed25519',
    principals: ['alice@x'],
  });
});

t.test('no signatures: NO_SIGNATURES only', async (t) => {
  const r = evaluateSignatures(manifest, [], trustBoth, { threshold: 1, now });
  t.equal(r.satisfied, false);
  t.same(codes(r.failures), ['NO_SIGNATURES']);
});

t.test('an unknown key is reported, not counted', async (t) => {
  const r = evaluateSignatures(manifest, [sig('mallory', mallory)], trustBoth, { threshold: 1, now });
  t.match(r.signers[0], { status: 'untrusted', code: 'UNTRUSTED_SIGNER', fingerprint: mallory.fingerprint, principals: [] });
  t.same(codes(r.failures), ['UNTRUSTED_SIGNER', 'THRESHOLD_NOT_MET']);
  t.equal(r.failures[0]!.path, 'signatures/mallory.sig');
});

t.test('untrusted extras stay visible but do not block a satisfied policy', async (t) => {
  const r = evaluateSignatures(manifest, [sig('alice', alice), sig('mallory', mallory)], trustBoth, { threshold: 1, now });
  t.equal(r.satisfied, true);
  t.same(r.failures, []);
  t.same(
    r.signers.map((s) => s.status),
    ['trusted', 'untrusted'],
  );
});

t.test('threshold 2 needs two distinct keys; the same key twice counts once', async (t) => {
  const two = evaluateSignatures(manifest, [sig('alice', alice), sig('bob', bob)], trustBoth, { threshold: 2, now });
  t.match(two, { trustedKeys: 2, satisfied: true, failures: [] });
  const twice = evaluateSignatures(manifest, [sig('alice', alice), sig('alice-again', alice)], trustBoth, { threshold: 2, now });
  t.match(twice, { trustedKeys: 1, satisfied: false });
  t.same(
    twice.signers.map((s) => s.status),
    ['trusted', 'duplicate'],
  );
  t.same(codes(twice.failures), ['THRESHOLD_NOT_MET']);
});

t.test('signatures that do not verify are invalid, with their own code', async (t) => {
  const r = evaluateSignatures(
    manifest,
    [
      sig('other-bytes', alice, Buffer.from('{}')),
      sig('file-namespace', bob, manifest, 'file'),
      { name: 'signatures/garbage.sig', bytes: Buffer.from('not a signature') },
    ],
    trustBoth,
    { threshold: 1, now },
  );
  t.same(
    r.signers.map((s) => [s.status, s.code]),
    [
      ['invalid', 'SIGNATURE_INVALID'],
      ['invalid', 'WRONG_NAMESPACE'],
      ['invalid', 'SIGNATURE_MALFORMED'],
    ],
  );
  t.same(codes(r.failures), ['SIGNATURE_INVALID', 'WRONG_NAMESPACE', 'SIGNATURE_MALFORMED', 'THRESHOLD_NOT_MET']);
  t.same(
    r.failures.slice(0, 3).map((f) => f.path),
    ['signatures/other-bytes.sig', 'signatures/file-namespace.sig', 'signatures/garbage.sig'],
  );
});

t.test('namespaces= limits a key (OpenSSH pattern-list)', async (t) => {
  const fileOnly = signers([`alice@x namespaces="file,git" ${alice.publicLine}`]);
  const r = evaluateSignatures(manifest, [sig('alice', alice)], fileOnly, { threshold: 1, now });
  t.match(r.signers[0], { status: 'untrusted', code: 'WRONG_NAMESPACE', principals: ['alice@x'] });
  t.same(codes(r.failures), ['WRONG_NAMESPACE', 'THRESHOLD_NOT_MET']);
  const wildcard = signers([`alice@x namespaces="air*,!airline" ${alice.publicLine}`]);
  t.equal(evaluateSignatures(manifest, [sig('alice', alice)], wildcard, { threshold: 1, now }).satisfied, true);
  const negated = signers([`alice@x namespaces="*,!airlock" ${alice.publicLine}`]);
  t.equal(evaluateSignatures(manifest, [sig('alice', alice)], negated, { threshold: 1, now }).satisfied, false);
});

t.test('valid-after / valid-before are checked against now (inclusive)', async (t) => {
  const input = [sig('alice', alice)];
  const check = (options: string, at = now) =>
    evaluateSignatures(manifest, input, signers([`alice@x ${options} ${alice.publicLine}`]), { threshold: 1, now: at });
  t.match(check('valid-before="20250101Z"').signers[0], { status: 'untrusted', code: 'SIGNER_NOT_VALID_NOW' });
  t.same(codes(check('valid-before="20250101Z"').failures), ['SIGNER_NOT_VALID_NOW', 'THRESHOLD_NOT_MET']);
  t.match(check('valid-after="20270101Z"').signers[0], { status: 'untrusted', code: 'SIGNER_NOT_VALID_NOW' });
  t.equal(check('valid-after="20260101Z",valid-before="20270101Z"').satisfied, true);
  t.equal(check('valid-before="20260601120000Z"').satisfied, true, 'the boundary instant is still valid');
  t.equal(check('valid-before="20260601120000Z"', new Date(now.getTime() + 1000)).satisfied, false);
});

t.test('a key on several lines: any line that applies makes it trusted', async (t) => {
  const lines = signers([`old@x valid-before="20200101Z" ${alice.publicLine}`, `alice@x namespaces="airlock" ${alice.publicLine}`]);
  const r = evaluateSignatures(manifest, [sig('alice', alice)], lines, { threshold: 1, now });
  t.match(r.signers[0], { status: 'trusted', principals: ['alice@x'] });
});

t.test('a threshold below 1 is a configuration error', async (t) => {
  t.throws(() => evaluateSignatures(manifest, [], trustBoth, { threshold: 0, now }), { code: 'CONFIG_INVALID' });
});

t.test('describeSignatures: who signed and whether it verifies, without a trust file', async (t) => {
  const r = describeSignatures(manifest, [sig('alice', alice), sig('again', alice), sig('bad', bob, Buffer.from('x'))]);
  t.same(
    r.map((s) => s.status),
    ['untrusted', 'duplicate', 'invalid'],
  );
  t.equal(r[0]!.fingerprint, alice.fingerprint);
  t.equal(r[0]!.code, undefined);
  t.same(r[0]!.principals, []);
  t.equal(r[2]!.code, 'SIGNATURE_INVALID');
});
