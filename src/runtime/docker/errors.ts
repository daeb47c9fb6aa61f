// Turn what dockerode throws into airlock's codes: an unreachable engine is DOCKER_UNREACHABLE wherever it happens.
import { AirlockError, isAirlockError, type ErrorCode } from '../../errors.js';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
]);

interface DockerodeError {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

/** The HTTP status the engine answered with, when it answered. */
export function engineStatus(err: unknown): number | undefined {
  const s = (err as DockerodeError | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

export function isNotFound(err: unknown): boolean {
  return engineStatus(err) === 404;
}

/** `what` names the step ("create container airlock-x"); `code` is used when the engine answered with an error. */
export function dockerFailure(err: unknown, what: string, code: ErrorCode = 'CONTAINER_FAILED'): AirlockError {
  if (isAirlockError(err)) return err;
  const e = (err ?? {}) as DockerodeError;
  if (engineStatus(err) === undefined && e.code !== undefined && UNREACHABLE.has(e.code)) {
    return new AirlockError('DOCKER_UNREACHABLE', `${what}: cannot reach the Docker Engine (${e.code}); is DOCKER_HOST right and dockerd running?`, {
      cause: err,
    });
  }
  const detail = e.json?.message ?? e.message ?? String(err);
  return new AirlockError(code, `${what}: ${detail.trim()}`, { cause: err });
}
