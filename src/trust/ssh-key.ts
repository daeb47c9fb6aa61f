// Private keys as airlock uses them: ed25519 keys loaded from or written to OpenSSH files, and key files whose
// secret airlock cannot hold (a security key's handle: the secret stays on the token), which ssh-keygen signs with.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { lstat, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import { encodePrivateKeyFile, isEncrypted, openKeyEnvelope, parseKeyEnvelope, type KeyEnvelope } from './private-key-format.js';
import { ED25519, formatPublicKeyLine, parsePublicKeyLine, publicKeyFromRaw, type Ed25519PublicKey, type PublicKey } from './public-key.js';

export {
  ED25519,
  fingerprint,
  formatPublicKeyLine,
  parsePublicKeyLine,
  publicKeyFromBlob,
  sameKey,
  type Ed25519PublicKey,
  type PublicKey,
} from './public-key.js';

/** A key that can sign; airlock never hands the secret itself around. */
export interface PrivateKey {
  public: Ed25519PublicKey;
  /** Raw ed25519 signature (64 bytes) over `data`. */
  sign(data: Buffer): Buffer;
}

export interface LoadPrivateKeyOptions {
  passphrase?: string;
  /** File whose content (one trailing newline removed) is the passphrase. */
  passphraseFile?: string;
  /** Asks a person; used only when the key is encrypted and no passphrase was given. */
  prompt?: (question: string) => Promise<string>;
  /** Receives advice that is not an error (a key file readable by others). */
  warn?: (message: string) => void;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Wrap a verified ed25519 seed as a PrivateKey, checking it really belongs to `publicKey`. */
export function privateKeyFromSeed(publicKey: Ed25519PublicKey, seed: Buffer, origin: string): PrivateKey {
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: publicKey.raw.toString('base64url') };
  const keyObject: KeyObject = createPrivateKey({ key: jwk, format: 'jwk' });
  const derived = createPublicKey(keyObject).export({ format: 'jwk' }).x;
  if (derived !== jwk.x) throw new AirlockError('KEY_INVALID', `${origin}: private key does not match its public key`, { path: origin });
  return { public: publicKey, sign: (data) => sign(null, data, keyObject) };
}

async function readPassphraseFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new AirlockError('USAGE', `cannot read passphrase file ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

async function obtainPassphrase(file: string, opts: LoadPrivateKeyOptions): Promise<string> {
  if (opts.passphrase !== undefined) return opts.passphrase;
  if (opts.passphraseFile !== undefined) return readPassphraseFile(opts.passphraseFile);
  if (opts.prompt) return opts.prompt(`Enter passphrase for ${file}: `);
  throw new AirlockError('PASSPHRASE_REQUIRED', `${file} is passphrase-protected; pass --passphrase-file FILE or run on a terminal`, { path: file });
}

async function readKeyFile(file: string, opts: LoadPrivateKeyOptions): Promise<KeyEnvelope> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size > MAX_KEY_FILE_BYTES) throw new AirlockError('KEY_INVALID', `${file} is not a private key file`, { path: file });
    // Keys checked out from git lose their mode, so this is advice rather than a refusal.
    if ((info.mode & 0o077) !== 0) opts.warn?.(`${file} is accessible by other users (mode ${(info.mode & 0o777).toString(8)}); consider chmod 600`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw new AirlockError('KEY_INVALID', `cannot read key ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
  return parseKeyEnvelope(text, file);
}

async function openEd25519(file: string, envelope: KeyEnvelope, opts: LoadPrivateKeyOptions): Promise<PrivateKey> {
  const passphrase = isEncrypted(envelope) ? await obtainPassphrase(file, opts) : undefined;
  const secret = openKeyEnvelope(envelope, passphrase);
  return privateKeyFromSeed(secret.publicKey, secret.seed, file);
}

/** Load an OpenSSH ed25519 private key, asking for its passphrase only when it is encrypted. */
export async function loadPrivateKey(file: string, opts: LoadPrivateKeyOptions = {}): Promise<PrivateKey> {
  return openEd25519(file, await readKeyFile(file, opts), opts);
}

/** A private key file: an ed25519 key airlock signs with, or another verifiable type (a security key) ssh-keygen signs with. */
export type KeyFile = { kind: 'ed25519'; key: PrivateKey } | { kind: 'ssh-keygen'; file: string; public: PublicKey };

export async function openKeyFile(file: string, opts: LoadPrivateKeyOptions = {}): Promise<KeyFile> {
  const envelope = await readKeyFile(file, opts);
  if (envelope.publicKey.type !== ED25519) return { kind: 'ssh-keygen', file, public: await withPubComment(file, envelope.publicKey) };
  return { kind: 'ed25519', key: await openEd25519(file, envelope, opts) };
}

/** The comment (for the signature's label) is in the private section, which airlock leaves closed; KEY.pub has it too. */
async function withPubComment(file: string, key: PublicKey): Promise<PublicKey> {
  try {
    const pub = parsePublicKeyLine((await readFile(`${file}.pub`, 'utf8')).trim(), `${file}.pub`);
    return pub.blob.equals(key.blob) && pub.comment ? { ...key, comment: pub.comment } : key;
  } catch {
    return key; // no usable KEY.pub: the label falls back to the key's hash
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Write a new unencrypted ed25519 key pair: FILE (0600, openssh-key-v1) and FILE.pub. Never overwrites. */
export async function generateKeyPair(file: string, comment?: string): Promise<PublicKey> {
  if (comment !== undefined && /[\r\n\0]/.test(comment)) throw new AirlockError('USAGE', 'key comment must be a single line');
  for (const f of [file, `${file}.pub`]) {
    if (await exists(f)) throw new AirlockError('KEY_EXISTS', `${f} already exists; refusing to overwrite a key`, { path: f });
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const publicKey = publicKeyFromRaw(Buffer.from(jwk.x!, 'base64url'), comment);
  const seed = Buffer.from(jwk.d!, 'base64url');
  try {
    await writeFile(file, encodePrivateKeyFile(publicKey, seed), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AirlockError('KEY_EXISTS', `${file} already exists`, { path: file, cause: err });
    throw err;
  }
  try {
    await writeFile(`${file}.pub`, formatPublicKeyLine(publicKey) + '\n', { mode: 0o644, flag: 'wx' });
  } catch (err) {
    await rm(file, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new AirlockError('KEY_EXISTS', `${file}.pub already exists`, { path: `${file}.pub`, cause: err });
    throw err;
  }
  return publicKey;
}
