// The "openssh-key-v1" private key file (OpenSSH PROTOCOL.key): decode and encode. The outer layer names any key
// type; only ed25519 private sections are opened (security keys hold no secret here, only a token's key handle). Pure.
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import { decryptSection, keyCipher } from './key-cipher.js';
import { ED25519, publicKeyFromBlob, type Ed25519PublicKey, type PublicKey } from './public-key.js';
import { WireError, WireReader, WireWriter, wrapBase64 } from './ssh-wire.js';

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** The outer, unencrypted part of the file: enough to name the key and tell whether a passphrase is needed. */
export interface KeyEnvelope {
  origin: string;
  cipher: string;
  kdf: string;
  kdfOptions: Buffer;
  publicKey: PublicKey;
  encrypted: Buffer;
  tag: Buffer;
}

export interface Ed25519Secret {
  publicKey: Ed25519PublicKey;
  /** The 32-byte ed25519 seed (RFC 8032 private key). */
  seed: Buffer;
}

export function isEncrypted(env: KeyEnvelope): boolean {
  return env.cipher !== 'none';
}

function invalid(origin: string, message: string, cause?: unknown): AirlockError {
  return new AirlockError('KEY_INVALID', `${origin}: ${message}`, { path: origin, ...(cause ? { cause } : {}) });
}

function dearmor(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  if (/^-----BEGIN (RSA|DSA|EC|ENCRYPTED)? ?PRIVATE KEY-----/.test(trimmed)) {
    throw new AirlockError(
      'UNSUPPORTED_KEY',
      `${origin}: PEM/PKCS#8 private keys are not supported; use an OpenSSH-format ed25519 key (ssh-keygen -t ed25519)`,
      { path: origin },
    );
  }
  if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/]/.test(trimmed)) throw invalid(origin, 'this is a public key; pass the private key file');
  if (!trimmed.startsWith(BEGIN) || !trimmed.endsWith(END))
    throw invalid(origin, 'not an OpenSSH private key (no "BEGIN OPENSSH PRIVATE KEY" armour)');
  const body = trimmed.slice(BEGIN.length, trimmed.length - END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw invalid(origin, 'private key armour is not base64');
  return Buffer.from(body, 'base64');
}

/** Parse the file's outer layer (PROTOCOL.key §1); the private section stays encrypted. Any key type airlock verifies. */
export function parseKeyEnvelope(text: string, origin: string): KeyEnvelope {
  const data = dearmor(text, origin);
  try {
    const r = new WireReader(data);
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw invalid(origin, 'missing "openssh-key-v1" magic');
    const cipher = r.text();
    const kdf = r.text();
    const kdfOptions = r.string();
    const count = r.uint32();
    if (count !== 1) throw invalid(origin, `file holds ${count} keys; exactly one is supported`);
    const publicKey = publicKeyFromBlob(r.string(), origin);
    const encrypted = r.string();
    const { blockSize, tagLength } = keyCipher(cipher, origin);
    const tag = r.bytes(tagLength);
    r.end('the private key');
    if (encrypted.length < blockSize || encrypted.length % blockSize !== 0)
      throw invalid(origin, 'private section length is not a multiple of the cipher block size');
    if ((cipher === 'none') !== (kdf === 'none')) throw invalid(origin, `cipher ${cipher} with kdf ${kdf}`);
    return { origin, cipher, kdf, kdfOptions, publicKey, encrypted, tag };
  } catch (err) {
    if (err instanceof WireError) throw invalid(origin, `malformed private key: ${err.message}`, err);
    throw err;
  }
}

/** Decrypt (when needed) and parse the private section (PROTOCOL.key §3). */
export function openKeyEnvelope(env: KeyEnvelope, passphrase?: string): Ed25519Secret {
  const { origin } = env;
  const publicKey = env.publicKey;
  if (publicKey.type !== ED25519)
    throw new AirlockError(
      'UNSUPPORTED_KEY',
      `${origin}: airlock signs with ssh-ed25519 keys itself; a ${publicKey.type} key signs through ssh-keygen`,
      { path: origin },
    );
  const encrypted = isEncrypted(env);
  const section = encrypted ? decryptSection(env.cipher, env.kdf, env.kdfOptions, env.encrypted, env.tag, passphrase ?? '', origin) : env.encrypted;
  try {
    const r = new WireReader(section);
    if (r.uint32() !== r.uint32()) {
      // The checkint pair is random: a mismatch after decryption means the derived key was wrong.
      if (encrypted) throw new AirlockError('BAD_PASSPHRASE', `${origin}: wrong passphrase`, { path: origin });
      throw invalid(origin, 'checkint mismatch (corrupt key)');
    }
    const type = r.text();
    if (type !== ED25519) throw invalid(origin, `private key type ${type} does not match its public key`);
    const pub = r.string();
    const secret = r.string();
    const comment = r.string().toString('utf8');
    const padding = r.bytes(r.remaining);
    const { blockSize } = keyCipher(env.cipher, origin);
    if (padding.length >= blockSize || padding.some((b, i) => b !== i + 1)) throw invalid(origin, 'bad padding after the private key');
    if (!pub.equals(publicKey.raw)) throw invalid(origin, 'private section holds a different public key');
    if (secret.length !== 64 || !secret.subarray(32).equals(pub)) throw invalid(origin, 'malformed ed25519 private key');
    return { publicKey: { ...publicKey, ...(comment ? { comment } : {}) }, seed: Buffer.from(secret.subarray(0, 32)) };
  } catch (err) {
    if (err instanceof WireError) throw invalid(origin, `malformed private section: ${err.message}`, err);
    throw err;
  }
}

/** An unencrypted openssh-key-v1 file, byte-compatible with `ssh-keygen -t ed25519 -N ''`. */
export function encodePrivateKeyFile(publicKey: Ed25519PublicKey, seed: Buffer): string {
  const checkint = randomBytes(4).readUInt32BE(0);
  const section = new WireWriter()
    .uint32(checkint)
    .uint32(checkint)
    .string(ED25519)
    .string(publicKey.raw)
    .string(Buffer.concat([seed, publicKey.raw]))
    .string(publicKey.comment ?? '')
    .toBuffer();
  const padLength = (8 - (section.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const body = new WireWriter()
    .raw(MAGIC)
    .string('none')
    .string('none')
    .string(Buffer.alloc(0))
    .uint32(1)
    .string(publicKey.blob)
    .string(Buffer.concat([section, padding]))
    .toBuffer();
  return `${BEGIN}\n${wrapBase64(body, 70)}${END}\n`;
}
