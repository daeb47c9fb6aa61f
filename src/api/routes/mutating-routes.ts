// Routes that change something: each checks the bearer token before anything else runs.
import type { FastifyInstance } from 'fastify';
import type { DaemonView } from '../context.js';
import { requireToken } from '../auth.js';
import { apiRef } from '../schema-compilers.js';

const errors = { '4xx': apiRef('Error'), '5xx': apiRef('Error') };

export async function registerMutatingRoutes(app: FastifyInstance, view: DaemonView, token: string): Promise<void> {
  // onRequest runs before body parsing and validation: an unauthenticated caller learns nothing else.
  const onRequest = requireToken(token);

  app.post<{ Params: { id: string } }>(
    '/v1/bundles/:id/retry',
    { onRequest, schema: { params: apiRef('IdParams'), body: apiRef('Empty'), response: { 202: apiRef('RetryResponse'), ...errors } } },
    async (req, reply) => {
      const bundle = view.retry(req.params.id);
      return reply.status(202).send({ bundle });
    },
  );

  app.post<{ Params: { name: string }; Body: { to?: string } | null | undefined }>(
    '/v1/deployments/:name/rollback',
    {
      onRequest,
      schema: { params: apiRef('NameParams'), body: apiRef('RollbackRequest'), response: { 200: apiRef('RollbackResponse'), ...errors } },
    },
    async (req) => view.rollback(req.params.name, req.body?.to),
  );
}
