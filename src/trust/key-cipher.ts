// Ciphers and the bcrypt KDF that protect an openssh-key-v1 private section (PROTOCOL.key, cipher.c).
import { createDecipheriv } from 'node:crypto';
import { AirlockError } from '../errors.js';
import { bcryptPbkdf } from './bcrypt-pbkdf.js';
import { WireError, WireReader } from './ssh-wire.js';

export interface KeyCipher {
  /** node:crypto algorithm, undefined for "none". */
  alg?: string;
  keyLength: number;
  ivLength: number;
  blockSize: number;
  /** Bytes of authentication tag stored after the encrypted section (AES-GCM). */
  tagLength: number;
}

const CIPHERS: Record<string, KeyCipher> = {
  none: { keyLength: 0, ivLength: 0, blockSize: 8, tagLength: 0 },
  'aes128-ctr': { alg: 'aes-128-ctr', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes192-ctr': { alg: 'aes-192-ctr', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes256-ctr': { alg: 'aes-256-ctr', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes128-cbc': { alg: 'aes-128-cbc', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes192-cbc': { alg: 'aes-192-cbc', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes256-cbc': { alg: 'aes-256-cbc', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0 },
  'aes128-gcm@openssh.com': { alg: 'aes-128-gcm', keyLength: 16, ivLength: 12, blockSize: 16, tagLength: 16 },
  'aes256-gcm@openssh.com': { alg: 'aes-256-gcm', keyLength: 32, ivLength: 12, blockSize: 16, tagLength: 16 },
};

export function keyCipher(name: string, origin: string): KeyCipher {
  const cipher = CIPHERS[name];
  if (!cipher) {
    throw new AirlockError(
      'UNSUPPORTED_KEY',
      `${origin}: private key cipher ${JSON.stringify(name)} is not supported; re-encrypt it with: ssh-keygen -p -Z aes256-ctr -f ${origin}`,
      { path: origin },
    );
  }
  return cipher;
}

/** kdfoptions for "bcrypt": string salt, uint32 rounds (PROTOCOL.key). */
function bcryptOptions(kdfOptions: Buffer, origin: string): { salt: Buffer; rounds: number } {
  try {
    const r = new WireReader(kdfOptions);
    const salt = r.string();
    const rounds = r.uint32();
    r.end('kdf options');
    if (salt.length === 0 || rounds === 0) throw new WireError('empty salt or zero rounds');
    return { salt, rounds };
  } catch (err) {
    throw new AirlockError('KEY_INVALID', `${origin}: bad bcrypt kdf options: ${(err as Error).message}`, { path: origin, cause: err });
  }
}

/**
 * Decrypt the private section. A GCM tag mismatch means a wrong passphrase (as in OpenSSH);
 * for CTR/CBC the caller detects it from the checkint pair.
 */
export function decryptSection(
  cipherName: string,
  kdf: string,
  kdfOptions: Buffer,
  encrypted: Buffer,
  tag: Buffer,
  passphrase: string,
  origin: string,
): Buffer {
  const cipher = keyCipher(cipherName, origin);
  if (kdf !== 'bcrypt')
    throw new AirlockError('UNSUPPORTED_KEY', `${origin}: key derivation ${JSON.stringify(kdf)} is not supported`, { path: origin });
  const { salt, rounds } = bcryptOptions(kdfOptions, origin);
  if (passphrase.length === 0) throw new AirlockError('BAD_PASSPHRASE', `${origin}: empty passphrase for an encrypted key`, { path: origin });
  const material = bcryptPbkdf(Buffer.from(passphrase, 'utf8'), salt, cipher.keyLength + cipher.ivLength, rounds);
  const key = material.subarray(0, cipher.keyLength);
  const iv = material.subarray(cipher.keyLength);
  const decipher = createDecipheriv(cipher.alg!, key, iv);
  decipher.setAutoPadding(false);
  if (cipher.tagLength > 0) (decipher as unknown as { setAuthTag(t: Buffer): void }).setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch (err) {
    throw new AirlockError('BAD_PASSPHRASE', `${origin}: wrong passphrase`, { path: origin, cause: err });
  }
}
