// airlock keygen: make an ed25519 signing key pair in OpenSSH format (ssh-keygen can use it too).
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { fingerprint, formatPublicKeyLine, generateKeyPair } from '../../trust/ssh-key.js';
import { onePositional, parseCommandArgs, writeLines, type CliIO } from '../command.js';

export const summary = 'create an ed25519 signing key pair (OpenSSH format)';
export const usage = `usage: airlock keygen PATH [--comment COMMENT]
  Writes PATH (private key, mode 0600, no passphrase) and PATH.pub; refuses to overwrite either.
  The files are ordinary OpenSSH keys: add a passphrase with ssh-keygen -p -f PATH, sign with
  ssh-keygen -Y sign, and trust the .pub line in an allowed_signers file. COMMENT defaults to user@host.`;

function defaultComment(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return 'airlock';
  }
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { comment: { type: 'string' } }, usage);
  const file = path.resolve(io.cwd, onePositional(positionals, 'PATH', usage));
  const key = await generateKeyPair(file, values.comment ?? defaultComment());
  const keyPart = formatPublicKeyLine({ ...key, comment: undefined });
  writeLines(io, [
    `private key  ${file} (mode 0600, no passphrase; add one with: ssh-keygen -p -f ${file})`,
    `public key   ${file}.pub`,
    `fingerprint  ${fingerprint(key)}`,
    'trust it on the receiving side with an allowed_signers line such as:',
    `  you@example.org namespaces="airlock,airlock-parts" ${keyPart}`,
  ]);
  return 0;
}
