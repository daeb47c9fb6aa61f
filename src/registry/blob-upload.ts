// Push one blob (distribution-spec, "Pushing blobs"): HEAD first (a blob the registry holds is not sent again),
// then POST for a session, one PATCH streaming the bytes from where the session stands, and the closing PUT
// with the digest, which the registry checks against what it received. The session's URL is kept (upload
// sessions) until the PUT, so an interrupted publish asks the registry where the blob stands (GET, Range) and
// goes on from there. CNCF Distribution 2.8 drops a session whose PATCH was cut short; the blob then starts over.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError } from '../errors.js';
import { repositoryScope } from './challenge.js';
import type { RegistryClient } from './client.js';
import { discard } from './transport.js';
import type { UploadSessions } from './upload-sessions.js';

export interface BlobToUpload {
  digest: string;
  size: number;
  /** the blob's bytes from `offset` to its end, read from disk as they are sent */
  open(offset: number): Readable;
  /** how the blob is named in messages */
  what: string;
}

export interface UploadOptions {
  sessions?: UploadSessions;
  /** bytes sent (negative when a session turned out shorter than counted and bytes go again) */
  onBytes?: (n: number) => void;
  /** tries of the PATCH and PUT after network failures (default 4) */
  attempts?: number;
  signal?: AbortSignal;
}

export type UploadOutcome = 'uploaded' | 'present';

const RETRYABLE = new Set(['REGISTRY_UNREACHABLE', 'REGISTRY_ERROR']);
/** Blobs up to this size are sent in the closing PUT (no session kept: sending one again costs little). */
export const MONOLITHIC_MAX = 16 * 1024 * 1024;

export async function uploadBlob(client: RegistryClient, repository: string, blob: BlobToUpload, o: UploadOptions = {}): Promise<UploadOutcome> {
  if ((await client.blobSize(repository, blob.digest)) === blob.size) return 'present';
  const key = `${client.registry.origin}/${repository}@${blob.digest}`;
  const scope = repositoryScope(repository, 'pull,push');
  let session = await resumed(client, o.sessions, key, scope);
  // Bytes a kept session already holds were sent by an earlier run: not counted as sent now.
  let counted = session?.offset ?? 0;
  const count = (n: number) => {
    counted += n;
    o.onBytes?.(n);
  };
  const attempts = o.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!session && blob.size <= MONOLITHIC_MAX) {
        // Small blobs go in the closing PUT itself (POST then PUT): one round trip less per file.
        const fresh = await start(client, repository, scope, undefined, key);
        await close(client, scope, fresh, blob, o.signal, count);
        return 'uploaded';
      }
      session ??= await start(client, repository, scope, o.sessions, key);
      // Bytes the registry no longer has (a session that started over) are counted again.
      if (session.offset !== counted) count(session.offset - counted);
      if (session.offset < blob.size) {
        const next = await patch(client, scope, session, blob, count, o.signal);
        // The registry holds other bytes than the session said (416): the blob starts over in a new session.
        if (next === 'restart') {
          if (attempt >= attempts) throw new AirlockError('REGISTRY_ERROR', `the registry refused the ranges of ${blob.what} ${attempts} times`);
          session = undefined;
          await o.sessions?.delete(key);
          continue;
        }
        session = next;
      }
      await close(client, scope, session, blob, o.signal);
      await o.sessions?.delete(key);
      return 'uploaded';
    } catch (err) {
      o.signal?.throwIfAborted();
      const e = err instanceof AirlockError ? err : new AirlockError('REGISTRY_ERROR', String(err));
      if (!RETRYABLE.has(e.code) || attempt >= attempts) throw e;
      // A monolithic PUT that broke off sends everything again: what it counted is taken back.
      if (!session && counted > 0) count(-counted);
      await sleep(Math.min(8000, 500 * 2 ** (attempt - 1)), undefined, o.signal ? { signal: o.signal } : {});
      // The closing PUT may have landed though its answer was lost.
      if ((await client.blobSize(repository, blob.digest).catch(() => undefined)) === blob.size) {
        await o.sessions?.delete(key);
        return 'uploaded';
      }
      session = session ? await status(client, scope, session.location).catch(() => undefined) : undefined;
      if (!session) await o.sessions?.delete(key);
    }
  }
}

interface Session {
  location: URL;
  /** bytes the registry holds so far */
  offset: number;
}

async function resumed(client: RegistryClient, sessions: UploadSessions | undefined, key: string, scope: string): Promise<Session | undefined> {
  const kept = await sessions?.get(key);
  if (kept === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(kept);
  } catch {
    return undefined;
  }
  const s = await status(client, scope, url).catch(() => undefined);
  if (!s) await sessions?.delete(key);
  return s;
}

async function start(client: RegistryClient, repository: string, scope: string, sessions: UploadSessions | undefined, key: string): Promise<Session> {
  const res = await client.send('POST', `/v2/${repository}/blobs/uploads/`, { scope, headers: { 'Content-Length': '0' }, body: Buffer.alloc(0) });
  if (res.status !== 202) throw await client.failure(res, `start an upload to ${repository}`);
  discard(res);
  const location = sessionUrl(res.headers.location, res.url);
  await sessions?.set(key, location.href);
  return { location, offset: 0 };
}

/** Where a session stands (GET on its URL: 204 with `Range: 0-END`), or undefined when the registry forgot it. */
async function status(client: RegistryClient, scope: string, location: URL): Promise<Session | undefined> {
  const res = await client.send('GET', location, { scope });
  discard(res);
  if (res.status !== 204) return undefined;
  const range = /^0-(\d+)$/.exec(String(res.headers.range ?? ''));
  if (!range) return undefined;
  // "0-0" is what CNCF Distribution says of an empty session (and of one holding a single byte): start over then.
  const end = Number(range[1]);
  return { location: sessionUrl(res.headers.location, res.url, location), offset: end === 0 ? 0 : end + 1 };
}

async function patch(
  client: RegistryClient,
  scope: string,
  s: Session,
  blob: BlobToUpload,
  count: (n: number) => void,
  signal: AbortSignal | undefined,
): Promise<Session | 'restart'> {
  const length = blob.size - s.offset;
  const res = await client.send('PATCH', s.location, {
    scope,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(length),
      'Content-Range': `${s.offset}-${blob.size - 1}`,
    },
    body: () => {
      const stream = blob.open(s.offset);
      stream.on('data', (c: Buffer) => count(c.length));
      return stream;
    },
    ...(signal ? { signal } : {}),
  });
  if (res.status === 416) {
    discard(res);
    return 'restart';
  }
  if (res.status !== 202 && res.status !== 204) throw await client.failure(res, `upload ${blob.what}`);
  discard(res);
  return { location: sessionUrl(res.headers.location, res.url, s.location), offset: blob.size };
}

/** The closing PUT with the digest; with `count`, the whole blob goes in its body (a monolithic upload). */
async function close(
  client: RegistryClient,
  scope: string,
  s: Session,
  blob: BlobToUpload,
  signal: AbortSignal | undefined,
  count?: (n: number) => void,
): Promise<void> {
  const url = new URL(s.location);
  url.searchParams.set('digest', blob.digest);
  const body = count
    ? () => {
        const stream = blob.open(0);
        stream.on('data', (c: Buffer) => count(c.length));
        return stream;
      }
    : Buffer.alloc(0);
  const res = await client.send('PUT', url, {
    scope,
    headers: count ? { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) } : { 'Content-Length': '0' },
    body,
    ...(signal ? { signal } : {}),
  });
  if (res.status === 201 || res.status === 204) {
    discard(res);
    return;
  }
  const err = await client.failure(res, `finish ${blob.what}`);
  // The registry hashed what it received and it is not this digest: the file changed after it was verified.
  if (res.status === 400 && /DIGEST_INVALID/.test(err.message))
    throw new AirlockError(
      'HASH_MISMATCH',
      `${blob.what} changed after it was verified: the registry received bytes that do not hash to ${blob.digest}`,
      {
        path: blob.what,
      },
    );
  throw err;
}

function sessionUrl(location: string | string[] | undefined, base: URL, fallback?: URL): URL {
  if (typeof location !== 'string' || location === '') {
    if (fallback) return fallback;
    throw new AirlockError('REGISTRY_ERROR', `the registry started an upload without a Location`);
  }
  return new URL(location, base);
}
