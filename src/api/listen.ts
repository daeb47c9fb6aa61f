// Where the API listens: host:port, or a unix socket created with no moment of looser permissions.
import { promises as fsp } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AirlockError } from '../errors.js';

export interface ApiListen {
  host: string;
  port: number;
  socket?: string;
}

/** The mode the socket ends with: the daemon's user and group (the operators' group) may connect. */
export const SOCKET_MODE = 0o660;
// bind(2) creates the socket file with 0777 & ~umask; 0177 leaves it 0600 until the chmod below.
const SOCKET_UMASK = 0o177;

export async function listenApi(app: FastifyInstance, api: ApiListen): Promise<string> {
  if (api.socket) return listenOnSocket(app, api.socket);
  await app.listen({ host: api.host, port: api.port }).catch((err: unknown) => {
    throw listenError(err, api);
  });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : api.port;
  const host = api.host.includes(':') ? `[${api.host}]` : api.host;
  return `http://${host}:${port}`;
}

async function listenOnSocket(app: FastifyInstance, socket: string): Promise<string> {
  // A socket file left by a crash would make listen fail with EADDRINUSE; only a socket is removed.
  const st = await fsp.lstat(socket).catch(() => undefined);
  if (st?.isSocket()) await fsp.rm(socket);
  else if (st) throw new AirlockError('CONFIG_INVALID', `api.socket ${socket} exists and is not a socket`, { path: socket });
  // Plugins first, so the umask is narrowed only around the bind itself (the umask is the whole process's).
  await app.ready();
  const previous = process.umask(SOCKET_UMASK);
  try {
    await app.listen({ path: socket });
  } finally {
    process.umask(previous);
  }
  await fsp.chmod(socket, SOCKET_MODE);
  const mode = (await fsp.lstat(socket)).mode & 0o777;
  if (mode !== SOCKET_MODE)
    throw new AirlockError('INTERNAL', `api.socket ${socket} has mode ${mode.toString(8)} after chmod ${SOCKET_MODE.toString(8)}`, { path: socket });
  return `unix:${socket}`;
}

/** A taken or privileged port says which one, and where to choose another (the flag and the config key). */
function listenError(err: unknown, api: ApiListen): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port}`;
  if (code === 'EADDRINUSE')
    return new AirlockError(
      'ADDRESS_IN_USE',
      `cannot listen on ${where}: port ${api.port} is already in use (another airlock daemon, or another service). Stop that, or choose another port: airlock daemon --port N, or "api": {"port": N} in the config`,
      { path: 'api/port', cause: err },
    );
  if (code === 'EACCES')
    return new AirlockError(
      'CONFIG_INVALID',
      `cannot listen on ${where}: port ${api.port} needs privileges this user lacks; choose --port 1024 or above`,
      {
        path: 'api/port',
        cause: err,
      },
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new AirlockError(
      'CONFIG_INVALID',
      `cannot listen on ${where}: no interface of this host has the address ${api.host}; choose another with --host or api.host`,
      {
        path: 'api/host',
        cause: err,
      },
    );
  return err;
}
