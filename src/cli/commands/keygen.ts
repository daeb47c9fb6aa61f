// airlock keygen: make an ed25519 signing key pair in OpenSSH format (ssh-keygen can use it too).
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { fingerprint, formatPublicKeyLine, generateKeyPair } from '../../trust/ssh-key.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION } from '../common-options.js';
import { writableOutput } from '../store-access.js';

export const spec = defineCommand({
  name: 'keygen',
  summary: 'create an ed25519 signing key pair (OpenSSH format)',
  description: [
    'Writes PATH (private key, mode 0600, no passphrase) and PATH.pub; refuses to overwrite either (KEY_EXISTS).',
    'The files are ordinary OpenSSH keys: add a passphrase with ssh-keygen -p -f PATH, sign with ssh-keygen -Y sign, and trust the .pub line in an allowed_signers file.',
  ],
  positionals: [{ name: 'PATH', complete: 'file', description: 'where the private key goes; the public key goes to PATH.pub' }],
  options: [
    { flag: '--comment', value: 'COMMENT', complete: 'none', description: "the key's comment (default user@host)", group: 'Signing' },
    JSON_OPTION,
  ],
  jsonSchema: 'keygen-report',
  seeAlso: ['sign', 'pack'],
});

function defaultComment(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return 'airlock';
  }
}

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const file = path.resolve(io.cwd, positionals.PATH);
  const key = await writableOutput(file, () => generateKeyPair(file, values.comment ?? defaultComment()));
  const keyPart = formatPublicKeyLine({ ...key, comment: undefined });
  const allowedSigners = `you@example.org namespaces="airlock,airlock-parts" ${keyPart}`;
  if (values.json) {
    writeJson(io, {
      ok: true,
      privateKey: file,
      publicKey: `${file}.pub`,
      fingerprint: fingerprint(key),
      type: key.type,
      comment: key.comment ?? '',
      allowedSigners,
    });
    return 0;
  }
  writeLines(io, [
    `private key  ${file} (mode 0600, no passphrase; add one with: ssh-keygen -p -f ${file})`,
    `public key   ${file}.pub`,
    `fingerprint  ${fingerprint(key)}`,
    'trust it on the receiving side with an allowed_signers line such as:',
    `  ${allowedSigners}`,
  ]);
  return 0;
}
