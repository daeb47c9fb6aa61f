// Read-only routes: health, status, bundles, deployments, audit, metrics.
import type { FastifyInstance } from 'fastify';
import { AirlockError } from '../../errors.js';
import { pageOfRecords } from '../../pipeline/decisions.js';
import type { DaemonView } from '../context.js';
import { apiRef } from '../schema-compilers.js';

const errors = { '4xx': apiRef('Error'), '5xx': apiRef('Error') };

export async function registerReadRoutes(app: FastifyInstance, view: DaemonView): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: apiRef('Health'), ...errors } } }, async () => ({ status: 'ok' as const }));

  app.get('/v1/status', { schema: { response: { 200: apiRef('Status'), ...errors } } }, async () => {
    const bundles: Record<string, number> = {};
    for (const b of view.bundles()) bundles[b.state] = (bundles[b.state] ?? 0) + 1;
    return {
      version: view.version,
      startedAt: view.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - view.startedAt.getTime()) / 100) / 10,
      config: view.config,
      watched: view.watched(),
      registries: view.registries?.() ?? [],
      queue: view.queue(),
      bundles,
      models: await view.models(),
    };
  });

  // Newest first, a page at a time: a flood of junk drops never makes one answer large.
  app.get<{ Querystring: { limit?: number; before?: string } }>(
    '/v1/bundles',
    { schema: { querystring: apiRef('BundleQuery'), response: { 200: apiRef('BundleList'), ...errors } } },
    async (req) => pageOfRecords(view.bundles(), req.query.limit, req.query.before),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/bundles/:id',
    { schema: { params: apiRef('IdParams'), response: { 200: apiRef('BundleDetail'), ...errors } } },
    async (req) => {
      const bundle = view.bundle(req.params.id);
      if (!bundle) throw new AirlockError('NOT_FOUND', `no bundle ${req.params.id}`, { path: req.params.id });
      return { bundle, audit: view.audit(undefined, bundle.id) };
    },
  );

  app.get('/v1/deployments', { schema: { response: { 200: apiRef('DeploymentList'), ...errors } } }, async () => ({ models: await view.models() }));

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/audit',
    { schema: { querystring: apiRef('AuditQuery'), response: { 200: apiRef('AuditList'), ...errors } } },
    async (req) => ({ events: view.audit(req.query.limit) }),
  );

  app.get('/metrics', { schema: { response: { 200: apiRef('MetricsText'), ...errors } } }, async (_req, reply) => {
    // Text, not JSON: the route's own serializer sends the string as is, with Prometheus' content type.
    return reply
      .type('text/plain; version=0.0.4; charset=utf-8')
      .serializer((s: unknown) => String(s))
      .send(await view.metricsText());
  });
}
