// The Host rule (docs/security.md): the API answers only requests addressed to one of its own names. A page in a
// browser on the host that rebinds its own DNS name to 127.0.0.1 reaches the port, but its requests still carry
// that name, so they are refused before any route (or the status page, or the event stream) runs.
import type { FastifyInstance } from 'fastify';
import { AirlockError } from '../errors.js';

export interface ListenAddress {
  /** the TCP host the API listens on (config api.host) and the port it got */
  host?: string;
  port?: number;
  /** or the unix socket path */
  socket?: string;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Whether a Host header names this daemon (pure). Over TCP: localhost, 127.0.0.1, [::1] or the configured host,
 * each with the listening port (bare only on port 80). Over the unix socket: `localhost`, with or without a port,
 * which is what curl --unix-socket and Node's http client send.
 */
export function hostAllowed(header: string | undefined, at: ListenAddress): boolean {
  if (header === undefined) return false;
  const host = header.toLowerCase();
  if (at.socket !== undefined) return /^localhost(:\d{1,5})?$/.test(host);
  const names = new Set(LOOPBACK_NAMES);
  if (at.host) names.add(at.host.includes(':') ? `[${at.host.toLowerCase()}]` : at.host.toLowerCase());
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(host);
  if (!m || !names.has(m[1]!)) return false;
  return m[2] === undefined ? at.port === 80 : Number(m[2]) === at.port;
}

/** The first onRequest hook: 421 MISDIRECTED_HOST for any other Host. `address` is read once the server listens. */
export function installHostCheck(app: FastifyInstance, configured: ListenAddress): void {
  let at: ListenAddress | undefined;
  app.addHook('onRequest', async (req) => {
    at ??= listeningAt(app, configured);
    if (!hostAllowed(req.headers.host, at)) {
      throw new AirlockError(
        'MISDIRECTED_HOST',
        'this daemon answers only requests addressed to localhost, 127.0.0.1, [::1] or its configured api.host, with its port',
      );
    }
  });
}

function listeningAt(app: FastifyInstance, configured: ListenAddress): ListenAddress {
  if (configured.socket !== undefined) return { socket: configured.socket };
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : configured.port;
  return { ...(configured.host === undefined ? {} : { host: configured.host }), ...(port === undefined ? {} : { port }) };
}
