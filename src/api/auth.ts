// Bearer-token check for mutating routes; the token file is created on first start.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors.js';

/** Read the token (trimmed), creating the file with 32 random bytes as hex, mode 0600, when it does not exist. */
export async function loadOrCreateToken(file: string): Promise<{ token: string; created: boolean; tooOpen: boolean }> {
  try {
    const [text, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    const token = text.trim();
    if (token.length < 16) throw new AirlockError('CONFIG_INVALID', `API token file ${file} holds fewer than 16 characters`, { path: file });
    return { token, created: false, tooOpen: (st.mode & 0o077) !== 0 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('hex');
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fsp.writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return { token, created: true, tooOpen: false };
}

/** Constant-time comparison: hashing first makes both sides the same length. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** fastify preHandler: 401 UNAUTHORIZED unless the request carries the token. Nothing runs before it. */
export function requireToken(token: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const presented = bearerOf(req.headers.authorization);
    if (presented === undefined || !tokenMatches(presented, token)) {
      reply.header('www-authenticate', 'Bearer realm="airlock"');
      throw new AirlockError('UNAUTHORIZED', 'this route needs Authorization: Bearer <token from the API token file>');
    }
  };
}
