// Start the real daemon on a loopback port with a throw-away config, and stop it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { airlockArgv, childEnv } from './airlock-child.js';
import { getOnce } from './http-load.js';

export interface RunningDaemon {
  child: ChildProcess;
  port: number;
  drop: string;
  store: string;
  logFile: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** `settings`: config keys over the benchmark's (quietPeriodMs 500 unless given; every other key its default). */
export async function startDaemon(dir: string, allowedSigners: string, settings: Record<string, unknown> = {}): Promise<RunningDaemon> {
  await fsp.mkdir(dir, { recursive: true });
  const port = await freePort();
  const drop = path.join(dir, 'drop');
  const store = path.join(dir, 'store');
  const config = {
    dropFolders: [drop],
    mediaRoots: [],
    store,
    trust: { allowedSigners, threshold: 1 },
    quietPeriodMs: 500,
    api: { host: '127.0.0.1', port, tokenFile: path.join(dir, 'api-token') },
    runtime: { kind: 'none' },
    log: { level: 'warn' },
    ...settings,
  };
  const configFile = path.join(dir, 'config.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(dir, 'daemon.log');
  const log = createWriteStream(logFile);
  const [cmd, ...args] = airlockArgv(['daemon', '--config', configFile]);
  const child = spawn(cmd ?? '', args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const daemon = { child, port, drop, store, logFile };
  await waitHealthy(daemon);
  return daemon;
}

async function waitHealthy(d: RunningDaemon): Promise<void> {
  const agent = new http.Agent();
  try {
    for (let i = 0; i < 300; i++) {
      if (d.child.exitCode !== null) throw new Error(`the daemon exited (${d.child.exitCode}); see ${d.logFile}`);
      const ok = await getOnce(agent, d.port, '/healthz', 1000).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`the daemon did not answer /healthz within 30 s; see ${d.logFile}`);
  } finally {
    agent.destroy();
  }
}

/** Peak resident memory of the daemon so far (VmHWM, KiB), while it still runs. */
export async function daemonPeakRssKiB(d: RunningDaemon): Promise<number | undefined> {
  const status = await fsp.readFile(`/proc/${d.child.pid}/status`, 'utf8').catch(() => '');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

export async function stopDaemon(d: RunningDaemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => d.child.once('exit', () => resolve()));
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
