// Registry credentials, read from their files when needed and kept only in memory: never in the config, a
// record, a log line or an error message. basicFile holds `USER:PASSWORD` on its first line (as curl -u takes
// it); bearerTokenFile holds a token sent as `Authorization: Bearer TOKEN`.
import { AirlockError } from '../errors.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';

export interface RegistryAuthFiles {
  basicFile?: string;
  bearerTokenFile?: string;
}

export interface Credentials {
  basic?: { username: string; password: string };
  bearer?: string;
}

/** A credentials file is a line; anything near this is not one. */
const MAX_CREDENTIAL_BYTES = 16 * 1024;

export async function loadCredentials(files: RegistryAuthFiles | undefined): Promise<Credentials> {
  if (!files) return {};
  const out: Credentials = {};
  if (files.basicFile !== undefined) {
    const line = firstLine(await readSecret(files.basicFile, 'auth.basicFile'));
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new AirlockError('CONFIG_INVALID', `auth.basicFile ${files.basicFile} must hold USER:PASSWORD on its first line`, {
        path: files.basicFile,
      });
    out.basic = { username: line.slice(0, colon), password: line.slice(colon + 1) };
  }
  if (files.bearerTokenFile !== undefined) {
    const token = firstLine(await readSecret(files.bearerTokenFile, 'auth.bearerTokenFile'));
    if (!/^[\x21-\x7e]+$/.test(token))
      throw new AirlockError('CONFIG_INVALID', `auth.bearerTokenFile ${files.bearerTokenFile} must hold one token on its first line`, {
        path: files.bearerTokenFile,
      });
    out.bearer = token;
  }
  return out;
}

async function readSecret(file: string, field: string): Promise<string> {
  try {
    return (await readSmallRegular(file, file, MAX_CREDENTIAL_BYTES, 'CONFIG_INVALID')).toString('utf8');
  } catch (err) {
    // The message names the file, never what it holds.
    throw new AirlockError('CONFIG_INVALID', `cannot read ${field} ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\r$/, '');
}

export function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
