// API mode: latency of GET /v1/status on loopback, with the daemon idle and while it installs the tar
// bundle dropped into its drop folder.
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonPeakRssKiB, startDaemon, stopDaemon, type RunningDaemon } from './daemon-run.js';
import { getOnce, runLoad } from './http-load.js';
import { round, type ApiPhase, type ApiReport } from './report.js';
import { latencies } from './stats.js';
import type { Workspace } from './workspace.js';

export interface ApiModeOptions {
  requests: number;
  concurrency: number;
  log: (m: string) => void;
}

/** States after which the daemon is done with a bundle (runtime kind none stops at installed). */
const FINISHED = new Set(['installed', 'deploying', 'ready', 'rejected', 'failed']);
const WAITING = new Set(['arriving', 'queued', 'detected']);
const INSTALL_TIMEOUT_MS = 60 * 60 * 1000;
/** The load during an install runs until it ends, but never past this many times --api-requests. */
const BUSY_CAP_FACTOR = 100;
const WARM_UP = 200;

export async function runApiMode(ws: Workspace, opts: ApiModeOptions): Promise<ApiReport> {
  const daemon = await startDaemon(path.join(ws.root, 'api'), ws.allowedSigners);
  try {
    // Warm-up, not counted: the first requests pay for JIT compilation and the watcher's first scan.
    await runLoad({ port: daemon.port, path: '/v1/status', concurrency: opts.concurrency, maxRequests: WARM_UP });
    opts.log(`daemon on 127.0.0.1:${daemon.port}; ${opts.requests} requests to /v1/status, ${opts.concurrency} at a time, idle`);
    const idle = await runLoad({ port: daemon.port, path: '/v1/status', concurrency: opts.concurrency, maxRequests: opts.requests });
    const phases: ApiPhase[] = [{ label: 'idle', latencyMs: roundLatencies(idle.latenciesMs), errors: idle.errors }];
    phases.push(await busyPhase(ws, daemon, opts));
    const hwm = await daemonPeakRssKiB(daemon);
    return { phases, ...(hwm ? { daemonPeakRssMB: round((hwm * 1024) / 1e6, 1) } : {}) };
  } finally {
    await stopDaemon(daemon);
  }
}

async function busyPhase(ws: Workspace, daemon: RunningDaemon, opts: ApiModeOptions): Promise<ApiPhase> {
  // Copy under a hidden name, then rename: the bundle appears complete at once, as after rsync.
  const name = path.basename(ws.tarBundle);
  const hidden = path.join(daemon.drop, `.${name}.bench`);
  opts.log(`copying the tar bundle into the drop folder (not timed)`);
  await fsp.copyFile(ws.tarBundle, hidden);
  await fsp.rename(hidden, path.join(daemon.drop, name));

  const watch = new StateWatch(daemon.port);
  const poller = watch.run();
  try {
    await watch.until((s) => s !== undefined && !WAITING.has(s), INSTALL_TIMEOUT_MS);
    const startedAt = Date.now();
    opts.log(`the daemon is ${watch.state}; loading /v1/status until it finishes`);
    const load = await runLoad({
      port: daemon.port,
      path: '/v1/status',
      concurrency: opts.concurrency,
      maxRequests: opts.requests * BUSY_CAP_FACTOR,
      stop: () => watch.state === undefined || FINISHED.has(watch.state),
    });
    await watch.until((s) => s !== undefined && FINISHED.has(s), INSTALL_TIMEOUT_MS);
    const seconds = (watch.finishedAt - startedAt) / 1000;
    opts.log(`install ${watch.state} after ${seconds.toFixed(1)} s; ${load.latenciesMs.length} requests during it`);
    return {
      label: 'during-install',
      latencyMs: roundLatencies(load.latenciesMs),
      errors: load.errors,
      install: { state: watch.state ?? 'unknown', seconds: round(seconds, 2), requestsDuringInstall: load.latenciesMs.length },
    };
  } finally {
    watch.stop();
    await poller;
  }
}

function roundLatencies(values: number[]) {
  const l = latencies(values);
  return { count: l.count, p50: round(l.p50, 2), p90: round(l.p90, 2), p99: round(l.p99, 2), max: round(l.max, 2) };
}

/** Polls GET /v1/bundles on its own connection, ten times a second, for the one bundle's state. */
class StateWatch {
  state: string | undefined;
  finishedAt = 0;
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly port: number) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const r = await getOnce(this.agent, this.port, '/v1/bundles');
        const doc = JSON.parse(r.body) as { bundles?: Array<{ state?: string }> };
        const state = doc.bundles?.[0]?.state;
        if (state !== undefined && FINISHED.has(state) && !(this.state && FINISHED.has(this.state))) this.finishedAt = Date.now();
        this.state = state;
      } catch {
        // a slow answer is the API load's business to report; keep polling
      }
      await sleep(100);
    }
    this.agent.destroy();
  }

  async until(test: (state: string | undefined) => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.state)) {
      if (Date.now() > deadline) throw new Error(`the daemon's bundle stayed ${this.state ?? 'unseen'} for ${timeoutMs / 1000} s`);
      await sleep(50);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
