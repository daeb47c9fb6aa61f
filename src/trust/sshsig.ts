// SSHSIG (OpenSSH PROTOCOL.sshsig): armoured detached signatures, as made by `ssh-keygen -Y sign`, by any
// key type airlock verifies (plain or security key).
import { createHash } from 'node:crypto';
import { AirlockError, type Failure } from '../errors.js';
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import { encodeKeySignature, parseKeySignature, verifyKeySignature, type KeySignature } from './key-signature.js';
import { ED25519, isSecurityKey, publicKeyFromBlob, type PublicKey } from './public-key.js';
import type { PrivateKey } from './ssh-key.js';
import { decodeBase64Strict, WireError, WireReader, WireWriter, wrapBase64 } from './ssh-wire.js';

const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const HASHES = ['sha512', 'sha256'] as const;
export type SshsigHash = (typeof HASHES)[number];

export interface ParsedSshsig {
  /** Where the signature came from (its file name), for messages. */
  origin: string;
  publicKey: PublicKey;
  namespace: string;
  /** PROTOCOL.sshsig: reserved for future use. Ignored: like sshsig_wrap_verify, airlock verifies over an empty one. */
  reserved: Buffer;
  hashAlgorithm: SshsigHash;
  /** The key's signature, with the flags and counter of a security key's. */
  signature: KeySignature;
}

// Up to 64 signatures over one manifest of up to 16 MiB: each message is hashed once per algorithm, not per signature.
const digests = new WeakMap<Buffer, Map<SshsigHash, Buffer>>();

function messageDigest(message: Buffer, hash: SshsigHash): Buffer {
  let byHash = digests.get(message);
  if (!byHash) digests.set(message, (byHash = new Map()));
  let d = byHash.get(hash);
  if (!d) byHash.set(hash, (d = createHash(hash).update(message).digest()));
  return d;
}

/** PROTOCOL.sshsig §"Signed Data": what the key actually signs (the message only through its hash). */
export function sshsigSignedData(message: Buffer, namespace: string, hash: SshsigHash): Buffer {
  return new WireWriter()
    .raw(MAGIC)
    .string(namespace)
    .string(Buffer.alloc(0)) // reserved
    .string(hash)
    .string(messageDigest(message, hash))
    .toBuffer();
}

/** PROTOCOL.sshsig §"Blob format", armoured (§"Armored format", base64 wrapped at 70 columns like sshsig_armor). */
export function encodeSshsig(publicKeyBlob: Buffer, namespace: string, hash: SshsigHash, signatureBlob: Buffer): string {
  const blob = new WireWriter()
    .raw(MAGIC)
    .uint32(VERSION)
    .string(publicKeyBlob)
    .string(namespace)
    .string(Buffer.alloc(0))
    .string(hash)
    .string(signatureBlob)
    .toBuffer();
  return `${BEGIN}\n${wrapBase64(blob, 70)}${END}\n`;
}

/** Sign `message` as `ssh-keygen -Y sign -n NAMESPACE` would (sha512), returning the armoured text. */
export function signSshsig(message: Buffer, key: PrivateKey, namespace: string = SIGNATURE_NAMESPACE): string {
  const raw = key.sign(sshsigSignedData(message, namespace, 'sha512'));
  return encodeSshsig(key.public.blob, namespace, 'sha512', encodeKeySignature(ED25519, { kind: 'ed25519', sig: raw }));
}

function malformed(origin: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError('SIGNATURE_MALFORMED', `${origin}: malformed SSH signature: ${why}`, { path: origin, ...(cause ? { cause } : {}) });
}

/** Strict armour: BEGIN line, base64 lines, END line, nothing else but line breaks. */
function dearmor(armoured: Buffer, origin: string): Buffer {
  const text = armoured.toString('utf8');
  const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  if (lines[0] !== BEGIN) throw malformed(origin, `first line is not "${BEGIN}"`);
  if (lines.length < 3 || lines[lines.length - 1] !== END) throw malformed(origin, `last line is not "${END}"`);
  const body = lines.slice(1, -1).join('');
  const blob = decodeBase64Strict(body);
  if (!blob) throw malformed(origin, 'body is not valid base64');
  return blob;
}

/** Parse an armoured SSHSIG; SIGNATURE_MALFORMED for anything not exactly right, UNSUPPORTED_KEY for other key types. */
export function parseSshsig(armoured: Buffer, origin: string): ParsedSshsig {
  const r = new WireReader(dearmor(armoured, origin));
  try {
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw malformed(origin, 'missing SSHSIG magic');
    const version = r.uint32();
    if (version !== VERSION) throw malformed(origin, `unknown version ${version}`);
    const keyBlob = r.string();
    const namespace = r.text();
    const reserved = r.string();
    const hash = r.text();
    const sigBlob = r.string();
    r.end('the signature');
    if (namespace === '') throw malformed(origin, 'empty namespace');
    if (!(HASHES as readonly string[]).includes(hash)) throw malformed(origin, `unsupported hash algorithm ${JSON.stringify(hash)}`);
    const publicKey = signerKey(keyBlob, origin);
    const signature = parseKeySignature(sigBlob, publicKey, origin);
    return { origin, publicKey, namespace, reserved, hashAlgorithm: hash as SshsigHash, signature };
  } catch (err) {
    if (err instanceof WireError) throw malformed(origin, err.message, err);
    throw err;
  }
}

// The embedded public key: a well-formed key of another type is UNSUPPORTED_KEY, anything else malformed.
function signerKey(blob: Buffer, origin: string): PublicKey {
  try {
    return publicKeyFromBlob(blob, origin);
  } catch (err) {
    if (err instanceof AirlockError && err.code === 'UNSUPPORTED_KEY') throw err;
    const detail = (err as Error).message.replace(`${origin}: `, '');
    throw malformed(origin, `bad public key: ${detail}`, err);
  }
}

/** Check a parsed signature over `message`: SIGNATURE_INVALID for bad crypto, WRONG_NAMESPACE for another purpose. */
export function verifySshsig(message: Buffer, sig: ParsedSshsig, namespace: string): Failure | undefined {
  const data = sshsigSignedData(message, sig.namespace, sig.hashAlgorithm);
  if (!verifyKeySignature(sig.publicKey, sig.signature, data)) {
    // A token that signed for another application (FIDO rpId) than its key names fails here too: say so.
    const hint = isSecurityKey(sig.publicKey)
      ? ` (or the security key signed for another application than ${JSON.stringify(sig.publicKey.application)})`
      : '';
    return { code: 'SIGNATURE_INVALID', path: sig.origin, message: `${sig.origin}: signature does not match the signed data${hint}` };
  }
  // PROTOCOL.sshsig: the namespace stops a signature made for one purpose (e.g. "file") being replayed here.
  if (sig.namespace !== namespace) {
    return {
      code: 'WRONG_NAMESPACE',
      path: sig.origin,
      message: `${sig.origin}: signed for namespace ${JSON.stringify(sig.namespace)}, expected ${JSON.stringify(namespace)}`,
    };
  }
  return undefined;
}
