// The one set of key helpers for every test: real keys from the real ssh-keygen, allowed_signers files, and
// ssh-keygen -Y sign / verify as the reference implementation.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestKey {
  privatePath: string;
  publicPath: string;
  /** The .pub file's line, without newline. */
  publicLine: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

export interface MakeKeyOptions {
  type?: 'ed25519' | 'rsa' | 'ecdsa';
  passphrase?: string;
  comment?: string;
  /** -Z cipher for an encrypted key, e.g. aes256-gcm@openssh.com */
  cipher?: string;
  /** -b BITS (ecdsa: 256, 384 or 521) */
  bits?: number;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sshKeygen(args: string[], input?: Buffer | string): Run {
  const r = spawnSync('ssh-keygen', args, { input: input ?? '', encoding: 'buffer' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

function mustRun(args: string[], input?: Buffer | string): Run {
  const r = sshKeygen(args, input);
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** `ssh-keygen -t ed25519 -N '' -f DIR/NAME` (or the given type/passphrase); DIR is made when missing. */
export function makeKey(dir: string, name: string, opts: MakeKeyOptions = {}): TestKey {
  mkdirSync(dir, { recursive: true });
  const privatePath = path.join(dir, name);
  const type = opts.type ?? 'ed25519';
  const args = ['-q', '-t', type, '-N', opts.passphrase ?? '', '-C', opts.comment ?? `${name}@airlock.test`, '-f', privatePath];
  if (type === 'rsa') args.push('-b', String(opts.bits ?? 2048));
  else if (opts.bits) args.push('-b', String(opts.bits));
  if (opts.cipher) args.push('-Z', opts.cipher);
  mustRun(args);
  const publicPath = `${privatePath}.pub`;
  const publicLine = mustRun(['-y', '-f', privatePath, '-P', opts.passphrase ?? '']).stdout.trim();
  const fingerprint = mustRun(['-l', '-f', publicPath]).stdout.split(' ')[1]!;
  return { privatePath, publicPath, publicLine, fingerprint };
}

export interface SignerEntry {
  principals: string | string[];
  /** Raw options field, e.g. `namespaces="airlock",valid-before="20200101Z"`. */
  options?: string;
  key: TestKey | string;
}

/** Write an OpenSSH allowed_signers file: `principals [options] keytype base64`. Returns `file`. */
export function writeAllowedSigners(file: string, entries: SignerEntry[]): string {
  const lines = entries.map((e) => {
    const principals = Array.isArray(e.principals) ? e.principals.join(',') : e.principals;
    const line = typeof e.key === 'string' ? e.key : e.key.publicLine;
    const [type, b64] = line.split(/\s+/);
    return [principals, e.options, type, b64].filter((x) => x !== undefined && x !== '').join(' ');
  });
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Armoured SSHSIG from `ssh-keygen -Y sign` over `message`. */
export function sshSign(key: Pick<TestKey, 'privatePath'>, message: Buffer, namespace = 'airlock', extra: string[] = []): string {
  return mustRun(['-Y', 'sign', '-q', '-n', namespace, '-f', key.privatePath, ...extra], message).stdout;
}

/** `ssh-keygen -Y verify`: status 0 when `principal` from `allowedSigners` validly signed `message`. */
export function sshVerify(dir: string, allowedSigners: string, principal: string, signature: string, message: Buffer, namespace = 'airlock'): Run {
  const sigFile = path.join(dir, `verify-${Math.random().toString(36).slice(2)}.sig`);
  writeFileSync(sigFile, signature);
  return sshKeygen(['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', namespace, '-s', sigFile], message);
}

export interface VerifyCall {
  allowedSigners: string;
  principal: string;
  signature: string;
  message: Buffer;
  namespace?: string;
  /** -r FILE: a revoked-keys file */
  revoked?: string;
  /** -O verify-time=…: check validity windows at this moment instead of now */
  verifyTime?: Date;
  env?: NodeJS.ProcessEnv;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

/** `ssh-keygen -Y verify` with every option airlock's verdict is compared under. */
export function sshVerifyWith(dir: string, c: VerifyCall): Run {
  const sigFile = path.join(dir, `verify-${Math.random().toString(36).slice(2)}.sig`);
  writeFileSync(sigFile, c.signature);
  const args = ['-Y', 'verify', '-f', c.allowedSigners, '-I', c.principal, '-n', c.namespace ?? 'airlock', '-s', sigFile];
  if (c.revoked) args.push('-r', c.revoked);
  if (c.verifyTime) args.push('-O', `verify-time=${stamp(c.verifyTime)}`);
  const r = spawnSync('ssh-keygen', args, { input: c.message, encoding: 'buffer', env: c.env ?? process.env });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}
