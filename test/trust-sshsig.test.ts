// SSHSIG interoperability with ssh-keygen -Y, and strict parsing of hostile signature files.
import t from 'tap';
import path from 'node:path';
import { loadPrivateKey } from '../src/trust/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../src/trust/sshsig.js';
import { WireReader, WireWriter, wrapBase64 } from '../src/trust/ssh-wire.js';
import { makeKey, sshSign, sshVerify, writeAllowedSigners, type TestKey } from './helpers/keys.js';

const message = Buffer.from('{"schema":"airlock.bundle/v1","id":"x"}\n');

function setup(dir: string): { dir: string; key: TestKey; signers: string } {
  const key = makeKey(dir, 'alice');
  const signers = path.join(dir, 'allowed_signers');
  writeAllowedSigners(signers, [{ principals: 'alice@example.org', options: 'namespaces="airlock"', key }]);
  return { dir, key, signers };
}

const armour = (blob: Buffer) => `-----BEGIN SSH SIGNATURE-----\n${wrapBase64(blob, 70)}-----END SSH SIGNATURE-----\n`;
const dearmour = (text: string) =>
  Buffer.from(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join(''),
    'base64',
  );

/** Rebuild a signature blob field by field, so one field at a time can be made hostile. */
function fields(sig: string): { pub: Buffer; ns: string; reserved: Buffer; hash: string; inner: Buffer } {
  const r = new WireReader(dearmour(sig));
  r.bytes(6);
  r.uint32();
  return { pub: r.string(), ns: r.text(), reserved: r.string(), hash: r.text(), inner: r.string() };
}
function build(f: ReturnType<typeof fields>, over: { magic?: string; version?: number } = {}): Buffer {
  return new WireWriter()
    .raw(over.magic ?? 'SSHSIG')
    .uint32(over.version ?? 1)
    .string(f.pub)
    .string(f.ns)
    .string(f.reserved)
    .string(f.hash)
    .string(f.inner)
    .toBuffer();
}

t.test('airlock signature verifies with ssh-keygen -Y verify', async (t) => {
  const { dir, key, signers } = setup(t.testdir());
  const sig = signSshsig(message, await loadPrivateKey(key.privatePath));
  t.match(sig, /^-----BEGIN SSH SIGNATURE-----\n([A-Za-z0-9+/=]{1,70}\n)+-----END SSH SIGNATURE-----\n$/);
  const r = sshVerify(dir, signers, 'alice@example.org', sig, message);
  t.equal(r.status, 0, r.stderr);
  t.not(sshVerify(dir, signers, 'alice@example.org', sig, Buffer.concat([message, Buffer.from(' ')])).status, 0, 'and not for other bytes');
});

t.test('ssh-keygen -Y sign signature verifies in airlock (sha512 and sha256)', async (t) => {
  const { key } = setup(t.testdir());
  for (const extra of [[], ['-O', 'hashalg=sha256']]) {
    const sig = sshSign(key, message, 'airlock', extra);
    const parsed = parseSshsig(Buffer.from(sig), 'x.sig');
    t.equal(parsed.hashAlgorithm, extra.length ? 'sha256' : 'sha512');
    t.equal(verifySshsig(message, parsed, 'airlock'), undefined);
    t.same(verifySshsig(Buffer.from('other'), parsed, 'airlock')?.code, 'SIGNATURE_INVALID');
  }
});

t.test('a signature made for another namespace is WRONG_NAMESPACE', async (t) => {
  const { key } = setup(t.testdir());
  const parsed = parseSshsig(Buffer.from(sshSign(key, message, 'file')), 'file.sig');
  t.match(verifySshsig(message, parsed, 'airlock'), { code: 'WRONG_NAMESPACE', path: 'file.sig' });
  t.equal(verifySshsig(message, parsed, 'file'), undefined, 'valid for its own namespace');
});

t.test('hostile signature files are SIGNATURE_MALFORMED naming the file', async (t) => {
  const { key } = setup(t.testdir());
  const good = sshSign(key, message);
  const f = fields(good);
  const blob = dearmour(good);
  const cases: Record<string, string> = {
    'empty file': '',
    'missing BEGIN line': good.replace('-----BEGIN SSH SIGNATURE-----\n', ''),
    'missing END line': good.replace('-----END SSH SIGNATURE-----\n', ''),
    'PEM label of something else': good.replace(/SSH SIGNATURE/g, 'PGP SIGNATURE'),
    'text after END': good + 'extra\n',
    'non-base64 body': good.replace(/\n[A-Za-z0-9]/, '\n*'),
    'unknown version': armour(build(f, { version: 2 })),
    'wrong magic': armour(build(f, { magic: 'SSHSIX' })),
    'trailing bytes after the blob': armour(Buffer.concat([blob, Buffer.from([0, 0, 0, 0])])),
    'truncated blob': armour(blob.subarray(0, blob.length - 7)),
    'string length past the end': armour(Buffer.concat([blob.subarray(0, 10), Buffer.from([0xff, 0xff, 0xff, 0xff])])),
    'unknown hash algorithm': armour(build({ ...f, hash: 'md5' })),
    'empty namespace': armour(build({ ...f, ns: '' })),
    'signature type differs from key type': armour(build({ ...f, inner: new WireWriter().string('ssh-rsa').string(Buffer.alloc(64)).toBuffer() })),
    'short ed25519 signature': armour(build({ ...f, inner: new WireWriter().string('ssh-ed25519').string(Buffer.alloc(63)).toBuffer() })),
    'bytes after the signature value': armour(build({ ...f, inner: Buffer.concat([f.inner, Buffer.from([1])]) })),
    'public key blob with trailing bytes': armour(build({ ...f, pub: Buffer.concat([f.pub, Buffer.from([1])]) })),
  };
  for (const [name, text] of Object.entries(cases)) {
    t.throws(() => parseSshsig(Buffer.from(text), 'signatures/bad.sig'), { code: 'SIGNATURE_MALFORMED', path: 'signatures/bad.sig' }, name);
  }
  t.ok(parseSshsig(Buffer.from(good.replace(/\n/g, '\r\n')), 'crlf.sig'), 'CRLF line ends are tolerated');
});

t.test('a well-formed signature by an RSA key is UNSUPPORTED_KEY', async (t) => {
  const dir = t.testdir();
  const rsa = makeKey(dir, 'rsa', { type: 'rsa' });
  const sig = sshSign(rsa, message);
  t.throws(() => parseSshsig(Buffer.from(sig), 'rsa.sig'), { code: 'UNSUPPORTED_KEY', path: 'rsa.sig' });
});
