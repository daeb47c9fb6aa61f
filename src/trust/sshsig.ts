// SSHSIG (OpenSSH PROTOCOL.sshsig): armoured detached signatures, as made by `ssh-keygen -Y sign`.
import { createHash, verify } from 'node:crypto';
import { AirlockError, type Failure } from '../errors.js';
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import { ED25519, ed25519PublicKeyObject, publicKeyFromBlob, type PublicKey } from './public-key.js';
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
  /** PROTOCOL.sshsig: reserved for future use; ignored but covered by the signature. */
  reserved: Buffer;
  hashAlgorithm: SshsigHash;
  /** The raw 64-byte ed25519 signature. */
  signature: Buffer;
}

/** PROTOCOL.sshsig §"Signed Data": what the key actually signs (the message only through its hash). */
function signedData(message: Buffer, namespace: string, reserved: Buffer, hash: SshsigHash): Buffer {
  return new WireWriter()
    .raw(MAGIC)
    .string(namespace)
    .string(reserved)
    .string(hash)
    .string(createHash(hash).update(message).digest())
    .toBuffer();
}

/** Sign `message` as `ssh-keygen -Y sign -n NAMESPACE` would (sha512), returning the armoured text. */
export function signSshsig(message: Buffer, key: PrivateKey, namespace: string = SIGNATURE_NAMESPACE): string {
  const reserved = Buffer.alloc(0);
  const raw = key.sign(signedData(message, namespace, reserved, 'sha512'));
  const blob = new WireWriter()
    .raw(MAGIC)
    .uint32(VERSION)
    .string(key.public.blob)
    .string(namespace)
    .string(reserved)
    .string('sha512')
    .string(new WireWriter().string(ED25519).string(raw).toBuffer())
    .toBuffer();
  return `${BEGIN}\n${wrapBase64(blob, 70)}${END}\n`;
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
    const s = new WireReader(sigBlob);
    const sigType = s.text();
    const signature = s.string();
    s.end('the signature value');
    if (sigType !== publicKey.type) throw malformed(origin, `signature type ${sigType} does not match key type ${publicKey.type}`);
    if (signature.length !== 64) throw malformed(origin, `ed25519 signature is ${signature.length} bytes, not 64`);
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
  const data = signedData(message, sig.namespace, sig.reserved, sig.hashAlgorithm);
  let ok = false;
  try {
    ok = verify(null, data, ed25519PublicKeyObject(sig.publicKey.raw), sig.signature);
  } catch {
    ok = false;
  }
  if (!ok) return { code: 'SIGNATURE_INVALID', path: sig.origin, message: `${sig.origin}: signature does not match the signed data` };
  // PROTOCOL.sshsig: the namespace stops a signature made for one purpose (e.g. "file") being replayed here.
  if (sig.namespace !== namespace) {
    return { code: 'WRONG_NAMESPACE', path: sig.origin, message: `${sig.origin}: signed for namespace ${JSON.stringify(sig.namespace)}, expected ${JSON.stringify(namespace)}` };
  }
  return undefined;
}
