// Which Docker Engine to talk to, read from DOCKER_HOST the way the docker CLI reads it.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { AirlockError } from '../../errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * unix:///path (or unset: /var/run/docker.sock), tcp://host:port (TLS when DOCKER_TLS_VERIFY is set, with
 * ca/cert/key.pem from DOCKER_CERT_PATH or ~/.docker) and ssh://user@host. The env is a parameter so
 * commands and tests pass their own rather than the process's.
 */
export function dockerOptionsFromEnv(env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const host = env['DOCKER_HOST']?.trim();
  if (!host) return { socketPath: DEFAULT_DOCKER_SOCKET };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET };
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw invalid(host);
  }
  if (url.protocol === 'ssh:') {
    return { protocol: 'ssh', host: url.hostname, port: url.port || 22, ...(url.username ? { username: url.username } : {}) };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(host);
  const tls = Boolean(env['DOCKER_TLS_VERIFY']) || url.protocol === 'https:';
  const port = url.port || (tls ? '2376' : '2375');
  if (!tls) return { protocol: 'http', host: url.hostname, port };
  const certDir = env['DOCKER_CERT_PATH'] || path.join(os.homedir(), '.docker');
  try {
    return {
      protocol: 'https',
      host: url.hostname,
      port,
      ca: readFileSync(path.join(certDir, 'ca.pem')),
      cert: readFileSync(path.join(certDir, 'cert.pem')),
      key: readFileSync(path.join(certDir, 'key.pem')),
    };
  } catch (err) {
    throw new AirlockError('CONFIG_INVALID', `DOCKER_TLS_VERIFY is set but the TLS files in ${certDir} cannot be read: ${(err as Error).message}`, {
      path: certDir,
      cause: err,
    });
  }
}

/** A human description of the endpoint for messages ("unix:///var/run/docker.sock"). */
export function describeEndpoint(env: NodeJS.ProcessEnv): string {
  return env['DOCKER_HOST']?.trim() || `unix://${DEFAULT_DOCKER_SOCKET}`;
}

export function createDockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  // docker-modem merges its own reading of process.env under ours; blank every endpoint key so only `env` counts.
  const blank: Docker.DockerOptions = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  return new Docker({ ...blank, ...dockerOptionsFromEnv(env) });
}

function invalid(host: string): AirlockError {
  return new AirlockError('CONFIG_INVALID', `DOCKER_HOST ${JSON.stringify(host)} is not unix:///path, tcp://host:port or ssh://user@host`, {
    path: 'DOCKER_HOST',
  });
}
