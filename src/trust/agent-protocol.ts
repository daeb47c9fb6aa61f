// The ssh-agent protocol, the two requests airlock makes (draft-miller-ssh-agent §4.4, §4.5; OpenSSH
// PROTOCOL.agent, authfd.c): list identities, sign data with one of them. Messages only; no socket here. Pure.
import { WireError, WireReader, WireWriter } from './ssh-wire.js';

export const SSH_AGENT_FAILURE = 5;
export const SSH2_AGENTC_REQUEST_IDENTITIES = 11;
export const SSH2_AGENT_IDENTITIES_ANSWER = 12;
export const SSH2_AGENTC_SIGN_REQUEST = 13;
export const SSH2_AGENT_SIGN_RESPONSE = 14;
/** authfd.c agent_failed(): the generic failure and two older spellings of it. */
const FAILURES = new Set([SSH_AGENT_FAILURE, 30, 102]);

/** authfd.c MAX_AGENT_REPLY_LEN and MAX_AGENT_IDENTITIES: an agent's answer is bounded before it is read. */
export const MAX_AGENT_MESSAGE = 256 * 1024;
const MAX_IDENTITIES = 2048;

export class AgentProtocolError extends Error {
  override name = 'AgentProtocolError';
}

export interface AgentIdentity {
  blob: Buffer;
  comment: string;
}

/** uint32 length ‖ byte type ‖ contents. */
export function agentMessage(type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return new WireWriter()
    .uint32(body.length + 1)
    .raw(Buffer.from([type]))
    .raw(body)
    .toBuffer();
}

export function signRequest(keyBlob: Buffer, data: Buffer, flags = 0): Buffer {
  return agentMessage(SSH2_AGENTC_SIGN_REQUEST, new WireWriter().string(keyBlob).string(data).uint32(flags).toBuffer());
}

/** Bytes received so far → the first complete message (type ‖ contents), or undefined while it is incomplete. */
export function completeMessage(received: Buffer): Buffer | undefined {
  if (received.length < 4) return undefined;
  const length = received.readUInt32BE(0);
  if (length === 0 || length > MAX_AGENT_MESSAGE) throw new AgentProtocolError(`agent message of ${length} bytes`);
  return received.length >= 4 + length ? received.subarray(4, 4 + length) : undefined;
}

function expect(message: Buffer, type: number, what: string): WireReader {
  const got = message[0]!;
  if (FAILURES.has(got)) throw new AgentProtocolError(`the agent refused to ${what}`);
  if (got !== type) throw new AgentProtocolError(`unexpected agent answer type ${got} to ${what}`);
  return new WireReader(message.subarray(1));
}

export function parseIdentities(message: Buffer): AgentIdentity[] {
  const r = expect(message, SSH2_AGENT_IDENTITIES_ANSWER, 'list its keys');
  try {
    const count = r.uint32();
    if (count > MAX_IDENTITIES) throw new AgentProtocolError(`the agent lists ${count} keys`);
    const out: AgentIdentity[] = [];
    for (let i = 0; i < count; i++) out.push({ blob: Buffer.from(r.string()), comment: r.string().toString('utf8') });
    r.end('the identities answer');
    return out;
  } catch (err) {
    if (err instanceof WireError) throw new AgentProtocolError(`malformed identities answer: ${err.message}`);
    throw err;
  }
}

/** The signature blob (string type ‖ …), exactly what a key's own sign function returns. */
export function parseSignResponse(message: Buffer): Buffer {
  const r = expect(message, SSH2_AGENT_SIGN_RESPONSE, 'sign');
  try {
    const sig = Buffer.from(r.string());
    r.end('the sign response');
    return sig;
  } catch (err) {
    if (err instanceof WireError) throw new AgentProtocolError(`malformed sign response: ${err.message}`);
    throw err;
  }
}
