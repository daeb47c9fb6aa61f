// Sticks mode (issue 16): the reference split bundle carried on two simulated sticks, folders renamed into a media
// root the real daemon watches (a mount makes a stick's files appear at once), the second a while after the first.
// The first stick holds the index and every part but the last full one and the remainder; the second holds those.
// Measured: from the second stick's appearance to the bundle installed (its parts read off it, verified, unpacked,
// the install committed), from its last part spooled to installed, the daemon's peak RSS, and the status API's
// latency throughout.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { daemonPeakRssKiB, startDaemon, stopDaemon, type RunningDaemon } from './daemon-run.js';
import { getOnce, runLoad } from './http-load.js';
import { round } from './report.js';
import { dropPageCache } from './run-timed.js';
import { latencies, type LatencySummary } from './stats.js';
import type { Workspace } from './workspace.js';

const run = promisify(execFile);

export interface SticksOptions {
  /** seconds between the first stick being done and the second appearing */
  gapSeconds: number;
  concurrency: number;
  cold: boolean;
  log: (m: string) => void;
}

export interface SticksReport {
  parts: number;
  partBytes: number;
  /** `seconds`: daemon start-up (the stick already mounted) → its parts spooled and unpacked */
  stickA: { parts: number; bytes: number; seconds?: number };
  stickB: { parts: number; bytes: number };
  gapSeconds: number;
  state: string;
  /** the second stick appears → installed */
  lastStickToInstalledSeconds?: number;
  /** its last part verified and spooled → installed (the unpacking of that part and the install) */
  lastPartSpooledToInstalledSeconds?: number;
  /** bytes of the second stick over the first figure, MB/s */
  lastStickMBps?: number;
  daemonPeakRssMB?: number;
  api: { latencyMs: LatencySummary; errors: number };
}

const TIMEOUT_MS = 60 * 60 * 1000;

interface Bundle {
  state?: string;
  arrival?: { parts?: { received: number; unpackedParts: number } };
}

export async function runSticksMode(ws: Workspace, opts: SticksOptions): Promise<SticksReport> {
  const dir = path.join(ws.root, 'sticks');
  const media = path.join(dir, 'media');
  await fsp.mkdir(media, { recursive: true });
  const names = ws.partFiles.map((f) => path.basename(f)).sort();
  const sizes = await Promise.all(ws.partFiles.map(async (f) => [path.basename(f), (await fsp.stat(f)).size] as const));
  const sizeOf = new Map(sizes);
  // The last full-size part and the remainder after it travel on the second stick.
  const onB = names.length >= 3 ? names.slice(-2) : names.slice(-1);
  const onA = names.filter((n) => !onB.includes(n));
  const bytes = (list: string[]) => list.reduce((n, p) => n + (sizeOf.get(p) ?? 0), 0);
  const report: SticksReport = {
    parts: names.length,
    partBytes: sizeOf.get(names[0]!) ?? 0,
    stickA: { parts: onA.length, bytes: bytes(onA) },
    stickB: { parts: onB.length, bytes: bytes(onB) },
    gapSeconds: opts.gapSeconds,
    state: 'unknown',
    api: { latencyMs: latencies([]), errors: 0 },
  };
  opts.log(`preparing two sticks: A with the index and ${onA.length} part(s), B with ${onB.length} (not timed)`);
  const stickA = await prepareStick(ws, dir, 'STICK-A', onA, true);
  const stickB = await prepareStick(ws, dir, 'STICK-B', onB, true);

  // The first stick is there when the daemon starts (its API answers before its watchers have read the media root).
  await fsp.rename(stickA, path.join(media, 'STICK-A'));
  const t0 = Date.now();
  const daemon = await startDaemon(dir, ws.allowedSigners, { mediaRoots: [media], mediaDepth: 3 });
  let done = false;
  try {
    const load = runLoad({
      port: daemon.port,
      path: '/v1/status',
      concurrency: opts.concurrency,
      maxRequests: Number.MAX_SAFE_INTEGER,
      stop: () => done,
    });
    opts.log('stick A mounted; waiting until its parts are spooled and unpacked');
    await waitFor(daemon, (b) => (b.arrival?.parts?.received ?? 0) >= onA.length && (b.arrival?.parts?.unpackedParts ?? 0) >= onA.length);
    report.stickA.seconds = round((Date.now() - t0) / 1000, 2);
    opts.log(`stick A done in ${report.stickA.seconds} s; stick B in ${opts.gapSeconds} s`);
    await sleep(opts.gapSeconds * 1000);
    if (opts.cold) await dropPageCache();
    const t1 = Date.now();
    await fsp.rename(stickB, path.join(media, 'STICK-B'));
    const final = await waitFor(daemon, (b) => b.state === 'installed' || b.state === 'rejected' || b.state === 'failed');
    report.state = final.state ?? 'unknown';
    const events = await audit(daemon);
    const installedAt = events.filter((e) => e.event === 'installed').map((e) => Date.parse(e.at))[0];
    const lastSpooled = Math.max(...events.filter((e) => e.event === 'part-spooled').map((e) => Date.parse(e.at)));
    if (installedAt !== undefined) {
      report.lastStickToInstalledSeconds = round((installedAt - t1) / 1000, 3);
      report.lastPartSpooledToInstalledSeconds = round((installedAt - lastSpooled) / 1000, 3);
      report.lastStickMBps = round(report.stickB.bytes / 1e6 / Math.max(0.001, (installedAt - t1) / 1000), 0);
    }
    opts.log(`stick B → ${report.state} in ${report.lastStickToInstalledSeconds ?? '?'} s`);
    done = true;
    const l = await load;
    report.api = { latencyMs: roundLatencies(l.latenciesMs), errors: l.errors };
    const hwm = await daemonPeakRssKiB(daemon);
    if (hwm) report.daemonPeakRssMB = round((hwm * 1024) / 1e6, 1);
    return report;
  } finally {
    done = true;
    await stopDaemon(daemon);
  }
}

/** A stick's folder beside the media root (same file system, so mounting it is one rename). */
async function prepareStick(ws: Workspace, dir: string, label: string, parts: string[], withIndex: boolean): Promise<string> {
  const stick = path.join(dir, `.prep-${label}`);
  await fsp.mkdir(stick, { recursive: true });
  const from = path.dirname(ws.partsIndex);
  if (withIndex) {
    await fsp.copyFile(ws.partsIndex, path.join(stick, path.basename(ws.partsIndex)));
    await run('cp', ['-r', ws.partsIndex.replace(/\.parts\.json$/, '.parts.signatures'), stick]);
  }
  for (const p of parts) await fsp.copyFile(path.join(from, p), path.join(stick, p));
  return stick;
}

async function waitFor(d: RunningDaemon, test: (b: Bundle) => boolean): Promise<Bundle> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const deadline = Date.now() + TIMEOUT_MS;
  try {
    for (;;) {
      const r = await getOnce(agent, d.port, '/v1/bundles').catch(() => undefined);
      const b = r ? (JSON.parse(r.body) as { bundles?: Bundle[] }).bundles?.[0] : undefined;
      if (b && test(b)) return b;
      if (Date.now() > deadline) throw new Error(`the spooled bundle stayed ${b?.state ?? 'unseen'} for ${TIMEOUT_MS / 1000} s`);
      await sleep(20);
    }
  } finally {
    agent.destroy();
  }
}

async function audit(d: RunningDaemon): Promise<Array<{ event: string; at: string }>> {
  const agent = new http.Agent();
  try {
    const r = await getOnce(agent, d.port, '/v1/audit?limit=1000');
    return (JSON.parse(r.body) as { events: Array<{ event: string; at: string }> }).events;
  } finally {
    agent.destroy();
  }
}

function roundLatencies(values: number[]): LatencySummary {
  const l = latencies(values);
  return { count: l.count, p50: round(l.p50, 2), p90: round(l.p90, 2), p99: round(l.p99, 2), max: round(l.max, 2) };
}
