// GET /v1/events: server-sent events. `event: bundle` carries a bundle record (arrival and verification
// progress, state changes), `event: audit` an audit event, `event: deployment` a model's runtime state.
import type { FastifyInstance } from 'fastify';
import type { DaemonView } from '../context.js';
import type { HubEvent } from '../../daemon/event-hub.js';
import { apiRef } from '../schema-compilers.js';

export interface EventsRouteOptions {
  /** keep-alive comment interval; proxies and browsers drop idle streams */
  keepAliveMs: number;
}

export function formatSse(e: HubEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export async function registerEventsRoute(app: FastifyInstance, view: DaemonView, opts: EventsRouteOptions): Promise<void> {
  // The stream is written by hand (hijacked); EventStream documents it and its messages are Bundle / AuditEvent documents.
  app.get('/v1/events', { schema: { response: { 200: apiRef('EventStream'), '4xx': apiRef('Error'), '5xx': apiRef('Error') } } }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n: airlock events\n\n`);
    // Start with every bundle as it is now, so a client needs no separate GET to be current.
    for (const b of view.bundles()) res.write(formatSse({ event: 'bundle', data: b }));
    const unsubscribe = view.hub.subscribe((e) => res.write(formatSse(e)));
    const keepAlive = setInterval(() => res.write(`: keep-alive\n\n`), opts.keepAliveMs);
    const cleanup = () => {
      clearInterval(keepAlive);
      unsubscribe();
    };
    req.raw.on('close', cleanup);
    res.on('error', cleanup);
  });
}
