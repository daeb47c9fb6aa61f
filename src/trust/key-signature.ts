// The signature blob inside an SSHSIG, per key type: ed25519 (RFC 8709 §6), ecdsa-sha2-nistp256 (RFC 5656
// §3.1.2) and the security-key forms of both (PROTOCOL.u2f "SSH U2F signatures"). Parsed as strictly as
// OpenSSH's ssh_*_verify functions parse them; verified with node:crypto. Pure.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.js';
import { ED25519, SK_ECDSA_P256, SK_ED25519, type PublicKey } from './key-types.js';
import { WireError, WireReader, WireWriter } from './ssh-wire.js';

/** PROTOCOL.u2f / sk-api.h: the authenticator's flags byte. */
export const SK_USER_PRESENT = 0x01;
export const SK_USER_VERIFIED = 0x04;

export interface SkSignatureInfo {
  flags: number;
  counter: number;
}

export type KeySignature =
  | { kind: 'ed25519'; sig: Buffer; sk?: SkSignatureInfo }
  /** r and s without leading zeros, as sshbuf_get_bignum2_bytes_direct leaves them. */
  | { kind: 'ecdsa'; r: Buffer; s: Buffer; sk?: SkSignatureInfo };

const WEBAUTHN_SK_ECDSA = 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com';
/** SSHBUF_MAX_BIGNUM (16384 bits) plus one leading zero byte. */
const MAX_MPINT_BYTES = 2048 + 1;

function malformed(origin: string, why: string): AirlockError {
  return new AirlockError('SIGNATURE_MALFORMED', `${origin}: malformed SSH signature: ${why}`, { path: origin });
}

/** An mpint as sshbuf_get_bignum2_bytes_direct reads it: not negative, not oversized, leading zeros trimmed. */
function mpint(r: WireReader, origin: string): Buffer {
  let d = r.string();
  if (d.length > 0 && (d[0]! & 0x80) !== 0) throw malformed(origin, 'negative ECDSA signature value');
  if (d.length > MAX_MPINT_BYTES || (d.length === MAX_MPINT_BYTES && d[0] !== 0)) throw malformed(origin, 'oversized ECDSA signature value');
  while (d.length > 0 && d[0] === 0) d = d.subarray(1);
  return Buffer.from(d);
}

function skInfo(r: WireReader): SkSignatureInfo {
  const flags = r.bytes(1)[0]!;
  return { flags, counter: r.uint32() };
}

/** PROTOCOL.u2f: a security key's signature made without a touch lacks this flag; plain keys have no flags. */
export function lacksUserPresence(sig: KeySignature): boolean {
  return sig.sk !== undefined && (sig.sk.flags & SK_USER_PRESENT) === 0;
}

/** Parse the signature blob for `key`: SIGNATURE_MALFORMED when it is not exactly right for that key type. */
export function parseKeySignature(blob: Buffer, key: PublicKey, origin: string): KeySignature {
  try {
    const r = new WireReader(blob);
    const type = r.text();
    if (type === WEBAUTHN_SK_ECDSA && key.type === SK_ECDSA_P256) {
      throw new AirlockError(
        'UNSUPPORTED_KEY',
        `${origin}: ${WEBAUTHN_SK_ECDSA} signatures (made through a web browser) are not supported; sign with ssh-keygen -Y sign`,
        { path: origin },
      );
    }
    if (type !== key.type) throw malformed(origin, `signature type ${type} does not match key type ${key.type}`);
    let out: KeySignature;
    if (key.type === ED25519 || key.type === SK_ED25519) {
      const sig = Buffer.from(r.string());
      if (sig.length !== 64) throw malformed(origin, `ed25519 signature is ${sig.length} bytes, not 64`);
      out = key.type === SK_ED25519 ? { kind: 'ed25519', sig, sk: skInfo(r) } : { kind: 'ed25519', sig };
    } else {
      const inner = new WireReader(r.string());
      const rs = { r: mpint(inner, origin), s: mpint(inner, origin) };
      inner.end('the ECDSA signature values');
      out = key.type === SK_ECDSA_P256 ? { kind: 'ecdsa', ...rs, sk: skInfo(r) } : { kind: 'ecdsa', ...rs };
    }
    r.end('the signature value');
    return out;
  } catch (err) {
    if (err instanceof WireError) throw malformed(origin, err.message);
    throw err;
  }
}

/**
 * PROTOCOL.u2f: a security key signs sha256(application) ‖ flags ‖ uint32 counter ‖ sha256(message)
 * (FIDO authenticatorData ‖ clientDataHash), where the message is what a plain key would have signed.
 */
export function skSignedData(application: string, sk: SkSignatureInfo, message: Buffer): Buffer {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(sk.counter >>> 0, 0);
  return Buffer.concat([
    createHash('sha256').update(application, 'utf8').digest(),
    Buffer.from([sk.flags & 0xff]),
    counter,
    createHash('sha256').update(message).digest(),
  ]);
}

function keyObject(key: PublicKey): KeyObject {
  if (key.type === ED25519 || key.type === SK_ED25519) {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.raw.toString('base64url') }, format: 'jwk' });
  }
  const x = key.point.subarray(1, 33).toString('base64url');
  const y = key.point.subarray(33).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}

function leftPad32(b: Buffer): Buffer | undefined {
  return b.length > 32 ? undefined : Buffer.concat([Buffer.alloc(32 - b.length), b]);
}

/** Does `sig` by `key` cover `data`? (For sk keys the token's signed data is rebuilt around `data` first.) */
export function verifyKeySignature(key: PublicKey, sig: KeySignature, data: Buffer): boolean {
  const signed = sig.sk && (key.type === SK_ED25519 || key.type === SK_ECDSA_P256) ? skSignedData(key.application, sig.sk, data) : data;
  try {
    if (sig.kind === 'ed25519') return verify(null, signed, keyObject(key), sig.sig);
    // ECDSA over sha256 (RFC 5656 §6.2.1 for nistp256; ssh-ecdsa-sk.c hashes the sk signed data the same way).
    const r = leftPad32(sig.r);
    const s = leftPad32(sig.s);
    if (!r || !s) return false; // a value of more than 256 bits is ≥ n: ECDSA_do_verify says no
    return verify('sha256', signed, { key: keyObject(key), dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]));
  } catch {
    return false;
  }
}

/** The blob a signer returns: string type ‖ string value [‖ byte flags ‖ uint32 counter]. */
export function encodeKeySignature(type: PublicKey['type'], sig: KeySignature): Buffer {
  const w = new WireWriter().string(type);
  if (sig.kind === 'ed25519') w.string(sig.sig);
  else w.string(new WireWriter().string(mpintBytes(sig.r)).string(mpintBytes(sig.s)).toBuffer());
  if (sig.sk) w.raw(Buffer.from([sig.sk.flags])).uint32(sig.sk.counter);
  return w.toBuffer();
}

/** Minimal positive mpint encoding: no leading zeros, one 0x00 when the top bit is set. */
function mpintBytes(v: Buffer): Buffer {
  let d = v;
  while (d.length > 0 && d[0] === 0) d = d.subarray(1);
  return d.length > 0 && (d[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), d]) : Buffer.from(d);
}
