// The daemon started in this process with the test Installer (real watcher, folders, fastify and sockets), for
// API tests that need its internals (the event hub) or many raw connections.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { ApiExtension } from '../../src/api/context.js';
import { configFromDocument } from '../../src/config/load-config.js';
import { startDaemon, type DaemonDeps, type RunningDaemon } from '../../src/daemon/daemon.js';
import { createLoggers } from '../../src/daemon/logger.js';
import { FakeInstaller, testConfig } from './daemon.js';
import { scratchDir, type ScratchTest } from './scratch.js';

export interface InProcessDaemon {
  daemon: RunningDaemon;
  installer: FakeInstaller;
  url: string;
  /** the TCP port (undefined on a socket) */
  port: number | undefined;
  token: string;
  drop: string;
  dir: string;
}

export async function startInProcess(
  t: ScratchTest,
  config: Record<string, unknown> = {},
  extensions: ApiExtension[] = [],
  deps: Partial<DaemonDeps> = {},
): Promise<InProcessDaemon> {
  const dir = scratchDir(t);
  const loaded = { config: configFromDocument(testConfig(dir, config), dir, 'test'), source: 'test', demoTrust: false };
  const installer = new FakeInstaller();
  const daemon = await startDaemon(loaded, {
    installer,
    loggers: createLoggers('silent', new PassThrough()),
    version: 't',
    keepAliveMs: 200,
    extensions,
    ...deps,
  });
  t.teardown(() => daemon.stop());
  const port = daemon.url.startsWith('http:') ? Number(new URL(daemon.url).port) : undefined;
  const token = readFileSync(loaded.config.api.tokenFile, 'utf8').trim();
  return { daemon, installer, url: daemon.url, port, token, drop: loaded.config.dropFolders[0]!, dir };
}

/** A folder bundle in the drop (the test Installer decides what becomes of it). */
export function dropBundle(drop: string, name: string): string {
  const dir = path.join(drop, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'airlock.json'), '{}');
  return dir;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with an explicit Host header (http.request sends ours as given), over TCP or a socket. */
export function requestWithHost(target: { port?: number; socketPath?: string }, route: string, host: string, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port }),
        path: route,
        method,
        headers: { host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        // An event stream that was accepted never ends: one chunk is enough to know.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.once('data', (c: Buffer) => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: c.toString('utf8') });
          });
          return;
        }
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
