// A small client for the daemon's API over TCP or a unix socket (`unix:/run/airlock/api.sock`), for the CLI and tests.
import http from 'node:http';
import { AirlockError } from '../errors.js';

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  contentType: string;
}

export interface ApiRequestOptions {
  method?: 'GET' | 'POST';
  token?: string;
  body?: unknown;
  timeoutMs?: number;
}

export async function apiRequest<T = unknown>(base: string, route: string, opts: ApiRequestOptions = {}): Promise<ApiAnswer<T>> {
  const target = base.startsWith('unix:') ? { socketPath: base.slice(5), path: route } : urlTarget(base, route);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise<ApiAnswer<T>>((resolve, reject) => {
    const req = http.request(
      {
        ...target,
        method: opts.method ?? 'GET',
        headers: {
          accept: 'application/json',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: opts.timeoutMs ?? 10000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const contentType = String(res.headers['content-type'] ?? '');
          let body: unknown = text;
          if (contentType.includes('json')) {
            try {
              body = JSON.parse(text);
            } catch {
              // leave the text: the caller sees what came back
            }
          }
          resolve({ status: res.statusCode ?? 0, body: body as T, contentType });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${base} within ${opts.timeoutMs ?? 10000} ms`)));
    req.on('error', (err) =>
      reject(new AirlockError('DAEMON_UNREACHABLE', `cannot reach the airlock daemon at ${base}: ${err.message}`, { cause: err })),
    );
    if (payload) req.write(payload);
    req.end();
  });
}

function urlTarget(base: string, route: string): { host: string; port: number; path: string } {
  let u: URL;
  try {
    u = new URL(route, base.endsWith('/') ? base : base + '/');
  } catch (err) {
    throw new AirlockError('USAGE', `not a URL: ${base}`, { cause: err });
  }
  if (u.protocol !== 'http:') throw new AirlockError('USAGE', `only http:// or unix: URLs are supported, got ${base}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), path: u.pathname + u.search };
}
