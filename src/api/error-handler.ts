// One place turns anything thrown by a route into `{ code, message, path? }` with the status ERROR_TABLE gives.
import type { FastifyError, FastifyInstance } from 'fastify';
import { type AirlockError, httpStatusFor, isAirlockError } from '../errors.js';
import { SchemaResponseError } from './schema-compilers.js';

interface ErrorBody {
  code: string;
  message: string;
  path?: string;
  failures?: Array<{ code: string; message: string; path?: string }>;
  failureCount?: number;
}

export function errorBody(err: AirlockError): ErrorBody {
  return {
    code: err.code,
    message: err.message,
    ...(err.path === undefined ? {} : { path: err.path }),
    ...(err.failureCount > 1 ? { failures: err.failures, failureCount: err.failureCount } : {}),
  };
}

/** The status and body for any error a route can raise (pure). */
export function describeError(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  if (isAirlockError(err)) return { status: httpStatusFor(err.code), body: errorBody(err), unexpected: false };
  const fe = err as FastifyError;
  if (fe && fe.validation) {
    return { status: 400, body: { code: 'BAD_REQUEST', message: fe.message }, unexpected: false };
  }
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: fe.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: fe.message }, unexpected: false };
  }
  const message = err instanceof SchemaResponseError ? 'the daemon produced a response that does not match its schema' : 'internal error';
  return { status: 500, body: { code: 'INTERNAL', message }, unexpected: true };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const { status, body, unexpected } = describeError(err);
    if (unexpected) req.log.error({ err, url: req.url }, 'request failed');
    // Sent as a plain string: an error answer must never fail its own serialisation.
    void reply
      .status(status)
      .type('application/json; charset=utf-8')
      .serializer((p: unknown) => JSON.stringify(p))
      .send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}
