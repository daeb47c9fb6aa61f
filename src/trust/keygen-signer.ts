// Signing by delegation to `ssh-keygen -Y sign -n NAMESPACE -f KEY`, for key files airlock cannot sign with
// itself: a security key's handle (the secret never leaves the token, which asks for the touch and PIN), or
// another verifiable type such as ecdsa-sha2-nistp256. The manifest bytes go to its stdin; airlock sees only
// the armoured signature on its stdout, and checks it before returning it.
import { spawn } from 'node:child_process';
import { AirlockError } from '../errors.js';
import { fingerprint, type PublicKey } from './public-key.js';
import { checkNewSignature, type SshsigSigner } from './signer.js';

export interface KeygenSignerOptions {
  /** Where ssh-keygen's own lines go ("Confirm user presence for key …"): the user must see them. */
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** A token waits for its touch about 30 s; this bounds the whole call (default 120 s). */
  timeoutMs?: number;
  /** The ssh-keygen binary (default: ssh-keygen on PATH). */
  command?: string;
}

const MAX_SIGNATURE_BYTES = 64 * 1024;
const STDERR_TAIL = 2048;

function runKeygen(args: string[], input: Buffer, o: KeygenSignerOptions): Promise<string> {
  const command = o.command ?? 'ssh-keygen';
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = Buffer.alloc(0);
    let tail = '';
    let failure: AirlockError | undefined;
    const stop = (err: AirlockError) => {
      failure ??= err;
      child.kill('SIGTERM');
    };
    const timer = setTimeout(
      () => stop(new AirlockError('SIGNING_FAILED', `${command} did not sign within ${(o.timeoutMs ?? 120_000) / 1000} s (no touch?)`)),
      o.timeoutMs ?? 120_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out = Buffer.concat([out, chunk]);
      if (out.length > MAX_SIGNATURE_BYTES)
        stop(new AirlockError('SIGNING_FAILED', `${command} wrote more than ${MAX_SIGNATURE_BYTES} bytes; that is not a signature`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      o.stderr?.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined); // ssh-keygen may exit before reading everything; its status says why
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new AirlockError('SIGNING_FAILED', `cannot run ${command}: ${err.message}; install openssh-client`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      const last = tail.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new AirlockError('SIGNING_FAILED', `${command} -Y sign failed (exit ${code})${last ? `: ${last}` : ''}`));
      resolve(out.toString('utf8'));
    });
    child.stdin.end(input);
  });
}

/** A signer for KEY through ssh-keygen; `publicKey` is what the key file says it holds (its outer, public layer). */
export function sshKeygenSigner(file: string, publicKey: PublicKey, opts: KeygenSignerOptions = {}): SshsigSigner {
  return {
    public: publicKey,
    via: 'ssh-keygen',
    async sign(message, namespace) {
      const text = await runKeygen(['-Y', 'sign', '-q', '-n', namespace, '-f', file], message, opts);
      return checkNewSignature(text, message, namespace, publicKey, `ssh-keygen signature by ${fingerprint(publicKey)}`);
    },
  };
}
