// Signing with a key held by a running ssh-agent (SSH_AUTH_SOCK): the agent signs the SSHSIG signed data
// (PROTOCOL.sshsig) and airlock wraps the result, so no secret ever reaches airlock. Security keys held by
// the agent work the same way: the agent's provider asks the token for the touch.
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import {
  AgentProtocolError,
  agentMessage,
  completeMessage,
  parseIdentities,
  parseSignResponse,
  signRequest,
  SSH2_AGENTC_REQUEST_IDENTITIES,
  type AgentIdentity,
} from './agent-protocol.js';
import { blobType, fingerprint, isKeyType, parsePublicKeyLine, publicKeyFromBlob, unsupportedKeyMessage } from './public-key.js';
import { checkNewSignature, type SshsigSigner } from './signer.js';
import { encodeSshsig, sshsigSignedData } from './sshsig.js';

export interface AgentSignerOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A confirmation prompt (ssh-add -c) or a token's touch can take a while; default 120 s per signature. */
  signTimeoutMs?: number;
}

const LIST_TIMEOUT_MS = 10_000;
const MAX_PUBLIC_KEY_FILE = 64 * 1024;

/** One request on a fresh connection; the answer's type byte and contents. */
function agentCall(socket: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket);
    let received = Buffer.alloc(0);
    const done = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new AgentProtocolError(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    conn.on('connect', () => conn.write(message));
    conn.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const answer = completeMessage(received);
        if (answer) done(undefined, Buffer.from(answer));
      } catch (err) {
        done(err as Error);
      }
    });
    conn.on('error', (err) => done(err));
    conn.on('end', () => done(new AgentProtocolError('the agent closed the connection without answering')));
  });
}

function agentSocket(env: NodeJS.ProcessEnv): string {
  const socket = env['SSH_AUTH_SOCK'];
  if (!socket)
    throw new AirlockError('AGENT_UNAVAILABLE', 'SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add the key (see docs/keys.md)', {
      path: 'SSH_AUTH_SOCK',
    });
  return socket;
}

async function listIdentities(socket: string): Promise<AgentIdentity[]> {
  try {
    return parseIdentities(await agentCall(socket, agentMessage(SSH2_AGENTC_REQUEST_IDENTITIES), LIST_TIMEOUT_MS));
  } catch (err) {
    throw new AirlockError('AGENT_UNAVAILABLE', `ssh-agent at ${socket}: ${(err as Error).message}`, { path: socket, cause: err });
  }
}

/** `SHA256:…` as ssh-add -l prints it, or a public key file (KEY.pub) naming the key. */
async function wantedBlob(selector: string, cwd: string): Promise<{ fingerprint: string; blob?: Buffer }> {
  if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(selector)) return { fingerprint: selector };
  const file = path.resolve(cwd, selector);
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size > MAX_PUBLIC_KEY_FILE) throw new Error('not a public key file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AirlockError(
      'USAGE',
      `--sign-agent ${selector}: neither a SHA256: fingerprint nor a readable public key file (${(err as Error).message})`,
      { path: selector, cause: err },
    );
  }
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('#')) ?? '';
  const key = parsePublicKeyLine(line, file);
  return { fingerprint: fingerprint(key), blob: key.blob };
}

/** Find the key in the agent now (so a missing key fails before an hour of packing), sign with it later. */
export async function agentSigner(selector: string, opts: AgentSignerOptions = {}): Promise<SshsigSigner> {
  const env = opts.env ?? process.env;
  const socket = agentSocket(env);
  const wanted = await wantedBlob(selector, opts.cwd ?? process.cwd());
  const identities = await listIdentities(socket);
  const held = identities.find((id) => (wanted.blob ? id.blob.equals(wanted.blob) : fingerprint(id) === wanted.fingerprint));
  if (!held) {
    throw new AirlockError(
      'AGENT_KEY_MISSING',
      `ssh-agent at ${socket} holds ${identities.length} key(s), not ${wanted.fingerprint}; ssh-add it first`,
      { path: selector },
    );
  }
  const type = blobType(held.blob) ?? '?';
  if (!isKeyType(type))
    throw new AirlockError('UNSUPPORTED_KEY', `${wanted.fingerprint} in ssh-agent: ${unsupportedKeyMessage(type)}`, { path: selector });
  const publicKey = { ...publicKeyFromBlob(held.blob, `ssh-agent key ${wanted.fingerprint}`), ...(held.comment ? { comment: held.comment } : {}) };
  return {
    public: publicKey,
    via: 'ssh-agent',
    async sign(message, namespace) {
      const data = sshsigSignedData(message, namespace, 'sha512');
      let sigBlob: Buffer;
      try {
        sigBlob = parseSignResponse(await agentCall(socket, signRequest(publicKey.blob, data), opts.signTimeoutMs ?? 120_000));
      } catch (err) {
        throw new AirlockError('SIGNING_FAILED', `ssh-agent did not sign with ${wanted.fingerprint}: ${(err as Error).message}`, { cause: err });
      }
      return checkNewSignature(
        encodeSshsig(publicKey.blob, namespace, 'sha512', sigBlob),
        message,
        namespace,
        publicKey,
        `ssh-agent signature by ${wanted.fingerprint}`,
      );
    },
  };
}
