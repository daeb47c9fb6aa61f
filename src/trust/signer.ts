// Whatever holds a signing key, behind one small interface: an ed25519 key file airlock reads itself, a key
// file ssh-keygen signs with (a security key's handle: the token asks for the touch), or a key in ssh-agent.
import { AirlockError } from '../errors.js';
import { lacksUserPresence } from './key-signature.js';
import { fingerprint, isSecurityKey, sameKey, type PublicKey } from './public-key.js';
import type { PrivateKey } from './ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from './sshsig.js';

export interface SshsigSigner {
  public: PublicKey;
  /** How the secret is reached, for messages. */
  via: 'key file' | 'ssh-keygen' | 'ssh-agent';
  /** An armoured SSHSIG over `message`, already checked to parse and verify. */
  sign(message: Buffer, namespace: string): Promise<string>;
}

export function nativeSigner(key: PrivateKey): SshsigSigner {
  return {
    public: key.public,
    via: 'key file',
    sign: async (message, namespace) => checkNewSignature(signSshsig(message, key, namespace), message, namespace, key.public, 'new signature'),
  };
}

/**
 * A signature made outside airlock (ssh-keygen, an agent, a token) is checked before anyone writes it:
 * it parses, it is by the expected key, it verifies over these bytes and, for a security key, shows that
 * someone touched the token (verify would refuse it otherwise).
 */
export function checkNewSignature(text: string, message: Buffer, namespace: string, expected: PublicKey, origin: string): string {
  let problem: string | undefined;
  try {
    const sig = parseSshsig(Buffer.from(text), origin);
    if (!sameKey(sig.publicKey, expected)) problem = `it is by key ${fingerprint(sig.publicKey)}, not ${fingerprint(expected)}`;
    else problem = verifySshsig(message, sig, namespace)?.message;
    if (!problem && isSecurityKey(expected) && lacksUserPresence(sig.signature)) {
      throw new AirlockError(
        'NO_USER_PRESENCE',
        `${origin}: the security key signed without confirming user presence; airlock would never count this signature`,
      );
    }
  } catch (err) {
    if (err instanceof AirlockError && err.code === 'NO_USER_PRESENCE') throw err;
    problem = (err as Error).message;
  }
  if (problem)
    throw new AirlockError('SIGNING_FAILED', `${origin}: the signature just made does not check out: ${problem.replace(`${origin}: `, '')}`);
  return text;
}
