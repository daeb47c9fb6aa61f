// A private key file as a signer: ed25519 files are signed with natively; a security key's handle (or another
// type airlock verifies but does not sign with) is handed to ssh-keygen, which talks to the token.
import { sshKeygenSigner, type KeygenSignerOptions } from './keygen-signer.js';
import { nativeSigner, type SshsigSigner } from './signer.js';
import { openKeyFile, type LoadPrivateKeyOptions } from './ssh-key.js';

export type KeyFileSignerOptions = LoadPrivateKeyOptions & KeygenSignerOptions;

export async function signerForKeyFile(file: string, opts: KeyFileSignerOptions = {}): Promise<SshsigSigner> {
  const keyFile = await openKeyFile(file, opts);
  return keyFile.kind === 'ed25519' ? nativeSigner(keyFile.key) : sshKeygenSigner(file, keyFile.public, opts);
}
