// The revoked-keys file: a plain list of public keys, one per line, as `ssh-keygen -Y verify -r FILE` reads it
// when the file is not a KRL (authfile.c sshkey_check_revoked → sshkey_in_file). A signature by a listed key
// never counts. OpenSSH's binary KRL format is not read: refused, never mistaken for an empty list.
import { AirlockError } from '../errors.js';
import { isKeyType, parsePublicKeyLine, splitPublicKeyLine } from './public-key.js';
import { readTrustFile } from './trust-file.js';

export interface RevokedKeys {
  origin: string;
  /** Blobs of every listed key (any type: a key type airlock never verifies simply never matches). */
  blobs: Buffer[];
}

/** krl.c KRL_MAGIC. */
const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');

export function parseRevokedKeys(data: Buffer, origin: string): RevokedKeys {
  if (data.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC)) {
    throw new AirlockError(
      'KRL_UNSUPPORTED',
      `${origin} is an OpenSSH KRL; airlock reads a plain list of public keys (one "TYPE BASE64 [comment]" per line)`,
      { path: origin },
    );
  }
  const blobs: Buffer[] = [];
  const lines = data
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const where = `${origin}:${i + 1}`;
    try {
      // Like sshkey_in_file, any line that is not a key makes the whole file unusable (ssh-keygen fails too).
      const split = splitPublicKeyLine(line, where);
      blobs.push(isKeyType(split.type) ? parsePublicKeyLine(line, where).blob : split.blob);
    } catch (err) {
      if (err instanceof AirlockError) throw new AirlockError('TRUST_INVALID', err.message, { path: origin, cause: err });
      throw err;
    }
  }
  return { origin, blobs };
}

export function isRevoked(revoked: RevokedKeys | undefined, key: { blob: Buffer }): boolean {
  return revoked !== undefined && revoked.blobs.some((b) => b.equals(key.blob));
}

export async function loadRevokedKeys(file: string): Promise<RevokedKeys> {
  return parseRevokedKeys(await readTrustFile(file, 'revoked keys'), file);
}
