// The local REST API: fastify with airlock's schemas, one error handler, and room for extra plugins (the status page).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiExtension, DaemonView } from './context.js';
import { installErrorHandling } from './error-handler.js';
import { installHostCheck, type ListenAddress } from './host-check.js';
import { registerEventsRoute } from './routes/events-route.js';
import { registerMutatingRoutes } from './routes/mutating-routes.js';
import { registerReadRoutes } from './routes/read-routes.js';
import { useAirlockSchemas } from './schema-compilers.js';

export interface ApiServerOptions {
  token: string;
  logger: Logger;
  /** where the daemon listens (config api): the Host rule accepts only its own names */
  listen: ListenAddress;
  /** config limits.eventClients and limits.eventBufferBytes */
  eventClients: number;
  eventBufferBytes: number;
  extensions?: ApiExtension[];
  keepAliveMs?: number;
}

export async function createApiServer(view: DaemonView, opts: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    // Per-request lines would drown the audit events; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies are tiny JSON documents; anything larger is not ours.
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
  });
  // First of all hooks: nothing else runs for a request addressed to another name.
  installHostCheck(app, opts.listen);
  useAirlockSchemas(app);
  installErrorHandling(app);
  await registerReadRoutes(app, view);
  await registerMutatingRoutes(app, view, opts.token);
  await registerEventsRoute(app, view, {
    keepAliveMs: opts.keepAliveMs ?? 15000,
    maxClients: opts.eventClients,
    bufferBytes: opts.eventBufferBytes,
    onDrop: () => view.eventClientDropped(),
  });
  for (const ext of opts.extensions ?? []) await ext(app, view);
  return app;
}
