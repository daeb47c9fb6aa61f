// Public key wire blobs (RFC 4253 §6.6, RFC 5656 §3.1, PROTOCOL.u2f "SSH U2F keys"), decoded as strictly as
// OpenSSH's sshkey_from_blob: exact lengths, no trailing bytes, P-256 points checked as sshkey_ec_validate_public does.
import { createPublicKey } from 'node:crypto';
import { AirlockError } from '../errors.js';
import {
  ECDSA_P256,
  ED25519,
  isKeyType,
  looksLikeKeyType,
  SK_ECDSA_P256,
  SK_ED25519,
  unsupportedKeyMessage,
  type KeyMaterial,
  type PublicKey,
} from './key-types.js';
import { WireError, WireReader, WireWriter } from './ssh-wire.js';

const CURVE = 'nistp256';
/** The order n of the P-256 group. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function invalid(origin: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError('KEY_INVALID', `${origin}: ${why}`, { path: origin, ...(cause ? { cause } : {}) });
}

export function encodeEd25519Blob(raw: Buffer): Buffer {
  return new WireWriter().string(ED25519).string(raw).toBuffer();
}

/** PROTOCOL.u2f: an sk key's blob is the plain key's fields followed by string application. */
export function encodeKeyBlob(key: KeyMaterial): Buffer {
  const w = new WireWriter().string(key.type);
  if (key.type === ED25519 || key.type === SK_ED25519) w.string(key.raw);
  else w.string(CURVE).string(key.point);
  if (key.type === SK_ED25519 || key.type === SK_ECDSA_P256) w.string(key.application);
  return w.toBuffer();
}

/** A C string as sshbuf_get_cstring reads it: no NUL inside (and, for airlock, valid UTF-8). */
function application(r: WireReader, origin: string): string {
  const app = r.text();
  if (app.includes('\0')) throw invalid(origin, 'security key application contains a NUL byte');
  return app;
}

function bigint(b: Buffer): bigint {
  return BigInt(`0x${b.toString('hex') || '0'}`);
}

/** sshkey_ec_validate_public: uncompressed, on the curve, and x, y each above 2^128 and below n - 1. */
export function checkP256Point(point: Buffer, origin: string): void {
  if (point.length !== 65 || point[0] !== 0x04) throw invalid(origin, 'P-256 public key is not an uncompressed point (65 bytes starting 0x04)');
  const x = point.subarray(1, 33);
  const y = point.subarray(33);
  for (const c of [x, y]) {
    const v = bigint(c);
    if (v < 1n << 128n || v >= P256_ORDER - 1n) throw invalid(origin, 'P-256 public key coordinate out of the range OpenSSH accepts');
  }
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url') }, format: 'jwk' });
  } catch (err) {
    throw invalid(origin, 'P-256 public key is not a point on the curve', err);
  }
}

function decodeFields(type: string, r: WireReader, origin: string): KeyMaterial {
  if (type === ED25519 || type === SK_ED25519) {
    const raw = Buffer.from(r.string());
    if (raw.length !== 32) throw invalid(origin, `ed25519 public key is ${raw.length} bytes, not 32`);
    return type === ED25519 ? { type, raw } : { type, raw, application: application(r, origin) };
  }
  const curve = r.text();
  if (curve !== CURVE) throw invalid(origin, `${type} key names curve ${JSON.stringify(curve)}`);
  const point = Buffer.from(r.string());
  checkP256Point(point, origin);
  return type === ECDSA_P256 ? { type, point } : { type: SK_ECDSA_P256, point, application: application(r, origin) };
}

/** KEY_INVALID when malformed, UNSUPPORTED_KEY when well formed but of a type airlock does not verify. */
export function decodeKeyBlob(blob: Buffer, origin: string): PublicKey {
  try {
    const r = new WireReader(blob);
    const type = r.text();
    if (!isKeyType(type)) {
      if (looksLikeKeyType(type)) throw new AirlockError('UNSUPPORTED_KEY', `${origin}: ${unsupportedKeyMessage(type)}`, { path: origin });
      throw invalid(origin, `unknown key type ${JSON.stringify(type)}`);
    }
    const fields = decodeFields(type, r, origin);
    r.end('the public key');
    return { ...fields, blob: Buffer.from(blob) } as PublicKey;
  } catch (err) {
    if (err instanceof WireError) throw invalid(origin, `malformed public key: ${err.message}`, err);
    throw err;
  }
}
