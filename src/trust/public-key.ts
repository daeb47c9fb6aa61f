// OpenSSH public keys: the four types airlock verifies, `TYPE AAAA… comment` lines and SHA256 fingerprints. Pure.
import { createHash } from 'node:crypto';
import { AirlockError } from '../errors.js';
import { decodeKeyBlob, encodeEd25519Blob } from './key-blob.js';
import { ED25519, isKeyType, looksLikeKeyType, unsupportedKeyMessage, type Ed25519PublicKey, type PublicKey } from './key-types.js';
import { decodeBase64Strict, WireReader } from './ssh-wire.js';

export * from './key-types.js';

export function publicKeyFromRaw(raw: Buffer, comment?: string): Ed25519PublicKey {
  return { type: ED25519, blob: encodeEd25519Blob(raw), raw: Buffer.from(raw), ...(comment ? { comment } : {}) };
}

/** Decode a public key wire blob: KEY_INVALID when malformed, UNSUPPORTED_KEY when well formed but of another type. */
export function publicKeyFromBlob(blob: Buffer, origin: string): PublicKey {
  return decodeKeyBlob(blob, origin);
}

/** The type string at the start of a blob, or undefined when there is none. */
export function blobType(blob: Buffer): string | undefined {
  try {
    return new WireReader(blob).text();
  } catch {
    return undefined;
  }
}

export interface KeyLine {
  type: string;
  blob: Buffer;
  comment?: string;
}

/** Split and check `TYPE BASE64 [comment]` without decoding the key: base64 strict, blob's type equals TYPE. */
export function splitPublicKeyLine(line: string, origin: string): KeyLine {
  const m = /^\s*(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
  if (!m) throw new AirlockError('KEY_INVALID', `${origin}: expected "TYPE BASE64 [comment]"`, { path: origin });
  const [, type = '', b64 = '', comment] = m;
  if (!looksLikeKeyType(type)) throw new AirlockError('KEY_INVALID', `${origin}: ${JSON.stringify(type)} is not an SSH key type`, { path: origin });
  const blob = decodeBase64Strict(b64);
  if (!blob) throw new AirlockError('KEY_INVALID', `${origin}: key is not valid base64`, { path: origin });
  if (blobType(blob) !== type) throw new AirlockError('KEY_INVALID', `${origin}: the line says ${type} but the key inside is not`, { path: origin });
  return { type, blob, ...(comment ? { comment } : {}) };
}

/** Parse `TYPE AAAA… [comment]` (a .pub file's line) into a key airlock can verify with. */
export function parsePublicKeyLine(line: string, origin = 'public key'): PublicKey {
  const split = splitPublicKeyLine(line, origin);
  if (!isKeyType(split.type)) throw new AirlockError('UNSUPPORTED_KEY', `${origin}: ${unsupportedKeyMessage(split.type)}`, { path: origin });
  const key = publicKeyFromBlob(split.blob, origin);
  return split.comment ? { ...key, comment: split.comment } : key;
}

/** `TYPE AAAA… comment`, as in a .pub file (without newline). */
export function formatPublicKeyLine(key: PublicKey): string {
  return `${key.type} ${key.blob.toString('base64')}${key.comment ? ` ${key.comment}` : ''}`;
}

/** `SHA256:…` exactly as `ssh-keygen -l` prints it (unpadded base64 of the blob's sha256). */
export function fingerprint(key: { blob: Buffer }): string {
  return 'SHA256:' + createHash('sha256').update(key.blob).digest('base64').replace(/=+$/, '');
}

export function sameKey(a: { blob: Buffer }, b: { blob: Buffer }): boolean {
  return a.blob.equals(b.blob);
}
