// HTTP(S) to one registry with node:http/https, and nothing else: every request goes to a host the caller
// allowed (the registry's own, and the extra hosts its configuration names), TLS trusts the configured CA when
// there is one, a connection that does not open or a transfer that stalls is ended, and every answer read into
// memory is capped. Network failures become REGISTRY_UNREACHABLE or REGISTRY_TLS.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { AirlockError } from '../errors.js';

export interface TransportOptions {
  /** PEM of the CA(s) that signed the registry's certificate; when given, the only ones trusted */
  ca?: Buffer;
  /** a TCP (and TLS) connection must be up within this long */
  connectTimeoutMs: number;
  /** a request whose socket sees no byte either way for this long is ended */
  idleTimeoutMs: number;
  /** `host[:port]` (URL.host) of every host a request may go to */
  allowedHosts: ReadonlySet<string>;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface RegistryResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: URL;
  body: http.IncomingMessage;
}

export interface RequestInit {
  headers?: Record<string, string>;
  /** a small body, or a stream of a known length (`Content-Length` must be set by the caller) */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

const USER_AGENT = 'airlock (+https://github.com/airlock)';

export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: TransportOptions) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, ...(o.ca ? { ca: o.ca } : {}) });
  }

  allows(url: URL): boolean {
    return this.o.allowedHosts.has(url.host.toLowerCase());
  }

  /** One request, no redirect followed. The caller reads or discards the body. */
  request(method: string, url: URL, init: RequestInit = {}): Promise<RegistryResponse> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return Promise.reject(new AirlockError('REGISTRY_ERROR', `refusing ${url.protocol} URL ${url.origin}`, { path: url.origin }));
    // Air-gap discipline: a registry can name any URL in a header; only the configured hosts are ever contacted.
    if (!this.allows(url))
      return Promise.reject(
        new AirlockError('REGISTRY_ERROR', `the registry sent airlock to ${url.host}, which is not the registry or one of its extraHosts`, {
          path: url.host,
        }),
      );
    const secure = url.protocol === 'https:';
    const mod = secure ? https : http;
    return new Promise<RegistryResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(networkError(err, url));
      };
      const req = mod.request(url, {
        method,
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { 'User-Agent': USER_AGENT, ...init.headers },
        ...(init.signal ? { signal: init.signal } : {}),
      });
      let connectTimer: NodeJS.Timeout | undefined;
      req.on('socket', (socket) => {
        const connecting = (socket as { connecting?: boolean }).connecting === true;
        if (!connecting) return;
        connectTimer = setTimeout(
          () => req.destroy(timeoutError(`no connection within ${this.o.connectTimeoutMs / 1000} s`)),
          this.o.connectTimeoutMs,
        );
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(this.o.idleTimeoutMs, () => req.destroy(timeoutError(`no data for ${this.o.idleTimeoutMs / 1000} s`)));
      req.on('error', (err) => {
        clearTimeout(connectTimer);
        fail(err);
      });
      req.on('response', (res) => {
        clearTimeout(connectTimer);
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        // The idle timeout keeps watching while the body is read; a stalled body ends in an error event on it.
        res.on('error', () => undefined);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
      });
      const body = init.body;
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Read a body whole, refusing more than `max` bytes (by Content-Length first, then as it arrives). */
export async function readCapped(res: RegistryResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw tooLarge(what, max);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        res.body.destroy();
        throw tooLarge(what, max);
      }
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw networkError(err, res.url);
  }
  return Buffer.concat(chunks);
}

/** Throw away a body we do not need (an error answer, a redirect): a little is read, the rest cut. */
export function discard(res: RegistryResponse): void {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared <= 64 * 1024) res.body.resume();
  else res.body.destroy();
}

function tooLarge(what: string, max: number): AirlockError {
  return new AirlockError('REGISTRY_ERROR', `${what} is larger than ${max} bytes; refusing to read it`);
}

class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

function timeoutError(message: string): TimeoutError {
  return new TimeoutError(message);
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME)/;

/** A failure below HTTP as the code a person can act on. */
export function networkError(err: unknown, url: URL): AirlockError {
  if (err instanceof AirlockError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'AbortError') return new AirlockError('ABORTED', `request to ${url.host} aborted`, { cause: err });
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TLS_CODES.test(code) || /certificate|SSL routines|wrong version number/i.test(e?.message ?? '')) {
    return new AirlockError(
      'REGISTRY_TLS',
      `TLS with ${url.host} failed (${code || 'tls'}: ${e?.message ?? String(err)}); is caFile the CA that signed the registry's certificate, and is the registry https?`,
      { path: url.host, cause: err },
    );
  }
  return new AirlockError('REGISTRY_UNREACHABLE', `cannot reach the registry at ${url.origin} (${code || 'error'}: ${e?.message ?? String(err)})`, {
    path: url.origin,
    cause: err,
  });
}
