// An honest stand-in for a FIDO security key, for tests (no token exists on these machines). The private half
// is an ordinary ed25519 / P-256 key from node:crypto; signing builds exactly what an authenticator signs
// (FIDO authenticatorData = sha256(rpId) ‖ flags ‖ signCount, then clientDataHash = sha256(message)) and
// wraps it the way OpenSSH's ssh-sk.c does (PROTOCOL.u2f "SSH U2F signatures"). Every signature made here is
// cross-checked against the real `ssh-keygen -Y verify` by the tests that use it.
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { encodeSshsig, sshsigSignedData, type SshsigHash } from '../../src/trust/sshsig.js';
import { WireWriter } from '../../src/trust/ssh-wire.js';

export const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';
export const SK_ECDSA = 'sk-ecdsa-sha2-nistp256@openssh.com';
export const ECDSA = 'ecdsa-sha2-nistp256';
export type EmulatedType = typeof SK_ED25519 | typeof SK_ECDSA | typeof ECDSA;

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;

export interface EmulatedKey {
  type: EmulatedType;
  /** "ssh:" unless chosen, as ssh-keygen -O application= would. */
  application: string;
  blob: Buffer;
  /** `TYPE BASE64 comment`, as in the .pub file ssh-keygen -t ed25519-sk writes. */
  publicLine: string;
  privateKey: KeyObject;
}

export interface MakeEmulatedKeyOptions {
  application?: string;
  comment?: string;
  /** 32 bytes: an ed25519 seed, or a P-256 private scalar; makes the key reproducible (committed vectors). */
  seed?: Buffer;
}

function p256FromScalar(d: Buffer): KeyObject {
  // PKCS#8 / SEC1 wrapper for a bare P-256 scalar: node derives the public point.
  const sec1 = Buffer.concat([Buffer.from('30310201010420', 'hex'), d, Buffer.from('a00a06082a8648ce3d030107', 'hex')]);
  return createPrivateKey({ key: sec1, format: 'der', type: 'sec1' });
}

function ed25519FromSeed(seed: Buffer): KeyObject {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

export function makeEmulatedKey(type: EmulatedType, opts: MakeEmulatedKeyOptions = {}): EmulatedKey {
  const application = opts.application ?? 'ssh:';
  const ed = type === SK_ED25519;
  const privateKey = opts.seed
    ? ed
      ? ed25519FromSeed(opts.seed)
      : p256FromScalar(opts.seed)
    : ed
      ? generateKeyPairSync('ed25519').privateKey
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const jwk = privateKey.export({ format: 'jwk' });
  const w = new WireWriter().string(type);
  if (ed) w.string(Buffer.from(jwk.x!, 'base64url'));
  else w.string('nistp256').string(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  if (type !== ECDSA) w.string(application);
  const blob = w.toBuffer();
  return { type, application, blob, publicLine: `${type} ${blob.toString('base64')} ${opts.comment ?? 'emulated@airlock.test'}`, privateKey };
}

export interface TokenSignOptions {
  /** FIDO flags: 0x01 user present, 0x04 user verified. Default 0x01 (a touch, no PIN). */
  flags?: number;
  counter?: number;
  namespace?: string;
  hash?: SshsigHash;
  /** The rpId the token really signed for, when it differs from the key's application (a replayed assertion). */
  signedApplication?: string;
}

function mpint(v: Buffer): Buffer {
  let d = v;
  while (d.length > 0 && d[0] === 0) d = d.subarray(1);
  return (d[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), d]) : d;
}

/** What the token returns for `data` (sk-usbhid.c hashes it into clientDataHash), wrapped as ssh-sk.c does. */
function tokenSignature(key: EmulatedKey, data: Buffer, o: TokenSignOptions): Buffer {
  const flags = o.flags ?? FLAG_UP;
  const counter = o.counter ?? 1;
  const authData = new WireWriter()
    .raw(
      createHash('sha256')
        .update(o.signedApplication ?? key.application)
        .digest(),
    )
    .raw(Buffer.from([flags]))
    .uint32(counter)
    .toBuffer();
  const clientDataHash = createHash('sha256').update(data).digest();
  const signed = key.type === ECDSA ? data : Buffer.concat([authData, clientDataHash]);
  const w = new WireWriter().string(key.type);
  if (key.type === SK_ED25519) w.string(sign(null, signed, key.privateKey));
  else {
    const rs = sign('sha256', signed, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    w.string(
      new WireWriter()
        .string(mpint(rs.subarray(0, 32)))
        .string(mpint(rs.subarray(32)))
        .toBuffer(),
    );
  }
  if (key.type !== ECDSA) w.raw(Buffer.from([flags])).uint32(counter);
  return w.toBuffer();
}

/** An armoured SSHSIG over `message`, as `ssh-keygen -Y sign` would make with this key on a token. */
export function tokenSign(key: EmulatedKey, message: Buffer, o: TokenSignOptions = {}): string {
  const namespace = o.namespace ?? 'airlock';
  const hash = o.hash ?? 'sha512';
  return encodeSshsig(key.blob, namespace, hash, tokenSignature(key, sshsigSignedData(message, namespace, hash), o));
}
