// GET /v1/events: server-sent events. `event: bundle` carries a bundle record (arrival and verification
// progress, state changes), `event: audit` an audit event, `event: deployment` a model's runtime state.
// At most `maxClients` at once, each with a bounded buffer (sse-client.ts).
import type { FastifyInstance } from 'fastify';
import type { DaemonView } from '../context.js';
import type { HubEvent } from '../../pipeline/event-hub.js';
import { AirlockError } from '../../errors.js';
import { BUNDLE_PAGE, pageOfRecords } from '../../pipeline/decisions.js';
import { apiRef } from '../schema-compilers.js';
import { SseClient } from '../sse-client.js';

export interface EventsRouteOptions {
  /** keep-alive comment interval; proxies and browsers drop idle streams */
  keepAliveMs: number;
  /** concurrent clients (config limits.eventClients) */
  maxClients: number;
  /** bytes a client may leave unread in the daemon (config limits.eventBufferBytes) */
  bufferBytes: number;
  /** a client that has not read its initial replay by then is dropped (default 30 s) */
  replayDeadlineMs?: number;
  /** a client was dropped for not reading */
  onDrop?: () => void;
}

export function formatSse(e: HubEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export async function registerEventsRoute(app: FastifyInstance, view: DaemonView, opts: EventsRouteOptions): Promise<void> {
  const clients = new Set<SseClient>();
  // Every subscriber gets the same event object: serialise it once, not once per client.
  const formatted = new WeakMap<HubEvent, string>();
  const once = (e: HubEvent) => {
    let text = formatted.get(e);
    if (text === undefined) formatted.set(e, (text = formatSse(e)));
    return text;
  };
  // The stream is written by hand (hijacked); EventStream documents it and its messages are Bundle / AuditEvent documents.
  app.get(
    '/v1/events',
    { schema: { response: { 200: apiRef('EventStream'), '4xx': apiRef('Error'), '5xx': apiRef('Error') } } },
    async (req, reply) => {
      if (clients.size >= opts.maxClients) {
        reply.header('retry-after', '10');
        throw new AirlockError('TOO_MANY_CLIENTS', `already ${clients.size} event-stream clients (limits.eventClients)`);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const client = new SseClient(res, opts.bufferBytes, () => {
        req.log.warn({ bufferBytes: opts.bufferBytes }, 'dropped an event-stream client that does not read');
        opts.onDrop?.();
      });
      clients.add(client);
      const unsubscribe = view.hub.subscribe((e) => client.send(once(e)));
      const keepAlive = setInterval(() => client.send(`: keep-alive\n\n`), opts.keepAliveMs);
      res.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
        clients.delete(client);
      });
      // Start with the newest bundles as they are now (oldest of them first), so a client needs no separate GET to be current.
      const newest = pageOfRecords(view.bundles(), BUNDLE_PAGE.default).bundles.reverse();
      const replay = function* () {
        yield `retry: 3000\n: airlock events\n\n`;
        for (const b of newest) yield formatSse({ event: 'bundle', data: b });
      };
      await client.replay(replay(), opts.replayDeadlineMs ?? 30_000);
    },
  );
}
