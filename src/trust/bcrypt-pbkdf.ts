// bcrypt_pbkdf as in OpenBSD's bcrypt_pbkdf.c: the KDF OpenSSH uses for passphrase-protected keys.
// node:crypto has no Blowfish, so this is a direct port (validated against keys ssh-keygen encrypts).
import { createHash } from 'node:crypto';
import { Blowfish, streamToWord } from './blowfish.js';

const HASH_WORDS = 8;
const HASH_BYTES = HASH_WORDS * 4;
const MAGIC = Buffer.from('OxychromaticBlowfishSwatDynamite', 'latin1');

function sha512(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** bcrypt_hash: an eksblowfish-style key schedule over the hashed passphrase and salt, then 64 encryptions. */
function bcryptHash(sha2pass: Buffer, sha2salt: Buffer): Buffer {
  const bf = new Blowfish();
  bf.expand(sha2pass, sha2salt);
  for (let i = 0; i < 64; i++) {
    bf.expand(sha2salt);
    bf.expand(sha2pass);
  }
  const cdata = new Uint32Array(HASH_WORDS);
  const cursor = { j: 0 };
  for (let i = 0; i < HASH_WORDS; i++) cdata[i] = streamToWord(MAGIC, cursor);
  for (let i = 0; i < 64; i++) bf.encryptWords(cdata);
  const out = Buffer.alloc(HASH_BYTES);
  for (let i = 0; i < HASH_WORDS; i++) out.writeUInt32LE(cdata[i]!, 4 * i);
  return out;
}

export function bcryptPbkdf(passphrase: Buffer, salt: Buffer, keyLength: number, rounds: number): Buffer {
  if (rounds < 1 || passphrase.length === 0 || salt.length === 0 || keyLength === 0 || keyLength > HASH_BYTES * HASH_BYTES || salt.length > 1 << 20) {
    throw new RangeError('bcrypt_pbkdf: parameters out of range');
  }
  const key = Buffer.alloc(keyLength);
  const stride = Math.ceil(keyLength / HASH_BYTES);
  const amount = Math.ceil(keyLength / stride);
  const sha2pass = sha512(passphrase);
  let remaining = keyLength;
  for (let count = 1; remaining > 0; count++) {
    const countSalt = Buffer.alloc(4);
    countSalt.writeUInt32BE(count, 0);
    let tmp = bcryptHash(sha2pass, sha512(salt, countSalt));
    const out = Buffer.from(tmp);
    for (let r = 1; r < rounds; r++) {
      tmp = bcryptHash(sha2pass, sha512(tmp));
      for (let j = 0; j < HASH_BYTES; j++) out[j]! ^= tmp[j]!;
    }
    // Unlike PBKDF2, output bytes are interleaved across blocks ("pbkdf2 deviation" in the original).
    let i = 0;
    for (; i < Math.min(amount, remaining); i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLength) break;
      key[dest] = out[i]!;
    }
    remaining -= i;
  }
  return key;
}
