// OpenSSH public keys: wire blobs, `ssh-ed25519 AAAA… comment` lines and SHA256 fingerprints. Pure.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.js';
import { decodeBase64Strict, WireError, WireReader, WireWriter } from './ssh-wire.js';

export const ED25519 = 'ssh-ed25519';

export interface PublicKey {
  type: 'ssh-ed25519';
  /** The SSH wire blob: string "ssh-ed25519" || string raw. */
  blob: Buffer;
  /** The 32-byte ed25519 public key. */
  raw: Buffer;
  comment?: string;
}

/** A token that names an SSH key type (plain, security-key or certificate), as opposed to an option or garbage. */
export function looksLikeKeyType(token: string): boolean {
  return /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/.test(token);
}

/** Why a key type is refused, in words a person can act on. */
export function unsupportedKeyMessage(type: string): string {
  if (type.endsWith('-cert-v01@openssh.com')) return `${type}: OpenSSH certificates are not supported; list the signer's plain ssh-ed25519 key`;
  if (type.startsWith('sk-')) return `${type}: security-key (FIDO) keys are not supported; use a plain ssh-ed25519 key`;
  return `${type} keys are not supported; airlock accepts ssh-ed25519 keys only`;
}

export function encodePublicKeyBlob(raw: Buffer): Buffer {
  return new WireWriter().string(ED25519).string(raw).toBuffer();
}

export function publicKeyFromRaw(raw: Buffer, comment?: string): PublicKey {
  return { type: ED25519, blob: encodePublicKeyBlob(raw), raw: Buffer.from(raw), ...(comment ? { comment } : {}) };
}

/** Decode a public key wire blob: KEY_INVALID when malformed, UNSUPPORTED_KEY when well formed but not ed25519. */
export function publicKeyFromBlob(blob: Buffer, origin: string): PublicKey {
  let type: string;
  let raw: Buffer;
  try {
    const r = new WireReader(blob);
    type = r.text();
    if (type !== ED25519) {
      if (looksLikeKeyType(type)) throw new AirlockError('UNSUPPORTED_KEY', `${origin}: ${unsupportedKeyMessage(type)}`, { path: origin });
      throw new AirlockError('KEY_INVALID', `${origin}: unknown key type ${JSON.stringify(type)}`, { path: origin });
    }
    raw = r.string();
    r.end('the public key');
  } catch (err) {
    if (err instanceof WireError) throw new AirlockError('KEY_INVALID', `${origin}: malformed public key: ${err.message}`, { path: origin, cause: err });
    throw err;
  }
  if (raw.length !== 32) throw new AirlockError('KEY_INVALID', `${origin}: ed25519 public key is ${raw.length} bytes, not 32`, { path: origin });
  return publicKeyFromRaw(raw);
}

function blobType(blob: Buffer): string | undefined {
  try {
    return new WireReader(blob).text();
  } catch {
    return undefined;
  }
}

/** Parse `ssh-ed25519 AAAA… [comment]` (a .pub file's line). */
export function parsePublicKeyLine(line: string, origin = 'public key'): PublicKey {
  const m = /^\s*(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
  if (!m) throw new AirlockError('KEY_INVALID', `${origin}: expected "ssh-ed25519 BASE64 [comment]"`, { path: origin });
  const [, type = '', b64 = '', comment] = m;
  if (!looksLikeKeyType(type)) throw new AirlockError('KEY_INVALID', `${origin}: ${JSON.stringify(type)} is not an SSH key type`, { path: origin });
  if (type !== ED25519) throw new AirlockError('UNSUPPORTED_KEY', `${origin}: ${unsupportedKeyMessage(type)}`, { path: origin });
  const blob = decodeBase64Strict(b64);
  if (!blob) throw new AirlockError('KEY_INVALID', `${origin}: key is not valid base64`, { path: origin });
  if (blobType(blob) !== type) throw new AirlockError('KEY_INVALID', `${origin}: the line says ${type} but the key inside is not`, { path: origin });
  const key = publicKeyFromBlob(blob, origin);
  return comment ? { ...key, comment } : key;
}

/** `ssh-ed25519 AAAA… comment`, as in a .pub file (without newline). */
export function formatPublicKeyLine(key: PublicKey): string {
  return `${key.type} ${key.blob.toString('base64')}${key.comment ? ` ${key.comment}` : ''}`;
}

/** `SHA256:…` exactly as `ssh-keygen -l` prints it (unpadded base64 of the blob's sha256). */
export function fingerprint(key: PublicKey): string {
  return 'SHA256:' + createHash('sha256').update(key.blob).digest('base64').replace(/=+$/, '');
}

export function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a.blob.equals(b.blob);
}

export function ed25519PublicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}
