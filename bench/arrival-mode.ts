// Arrival mode: what a user waits for after the last byte of a folder bundle lands in a watched drop folder.
// The bundle arrives by `rsync --bwlimit` (head first, as docs/arrival.md says), the real daemon verifies while
// it arrives, and the clock runs from rsync's exit to the record's `installed`. Beside it, on the same data:
// the same daemon verifying only after arrival (the quiet period, then a whole install), and the serial way
// (copy, then `airlock install`). The daemon's peak RSS and the status API's latency are taken throughout.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { airlockArgv, childEnv } from './airlock-child.js';
import { daemonPeakRssKiB, startDaemon, stopDaemon, type RunningDaemon } from './daemon-run.js';
import { syncDisks } from './files-mode.js';
import { getOnce } from './http-load.js';
import { runTimed } from './run-timed.js';
import type { Workspace } from './workspace.js';

const run = promisify(execFile);

export interface ArrivalModeOptions {
  runs: number;
  /** rsync --bwlimit, bytes per second */
  rate: number;
  log: (m: string) => void;
}

/** One bundle arriving into a watched drop folder. */
export interface ArrivalRun {
  /** rsync's exit (the last byte is on disk) to the record's `installed` (ms) */
  lastByteToInstalledMs?: number;
  /** the payload rsync, start to exit */
  arrivalMs: number;
  state: string;
  error?: string;
  bytesPrestaged?: number;
  /** from the last byte: when every file was verified (the record said staged), when the install began, and its own duration */
  timeline?: { stagedMs?: number; verifyingMs?: number; installMs?: number };
  daemonPeakRssKiB?: number;
  apiLatenciesMs: number[];
  apiErrors: number;
}

/** The serial way: copy the bundle, then `airlock install` it. */
export interface SerialRun {
  copyMs: number;
  installMs: number;
  exitCode: number;
  peakRssKiB?: number;
  error?: string;
}

export interface ArrivalSizeRuns {
  size: number;
  files: number;
  /** verified while arriving (the default) */
  early: ArrivalRun[];
  /** the same daemon with arrival.verifyWhileArriving off: the quiet period, then a whole install */
  after: ArrivalRun[];
  serial: SerialRun[];
}

const FINISHED = new Set(['installed', 'deploying', 'ready', 'rejected', 'failed']);
const TIMEOUT_MS = 60 * 60 * 1000;
/** The status API is asked this often while a bundle arrives and installs (one client, as a page would). */
const API_EVERY_MS = 25;

export async function runArrivalSize(ws: Workspace, opts: ArrivalModeOptions): Promise<ArrivalSizeRuns> {
  const out: ArrivalSizeRuns = { size: ws.payloadBytes, files: ws.plan.length, early: [], after: [], serial: [] };
  for (let round = 1; round <= opts.runs; round++) {
    const early = await daemonArrival(ws, path.join(ws.scratch, `early-${round}`), true, opts);
    out.early.push(early);
    opts.log(`round ${round}/${opts.runs}  verified while arriving: ${describe(early)}`);
    // The daemon without early verification and the serial way change little from run to run: once is enough.
    if (round === 1) {
      const after = await daemonArrival(ws, path.join(ws.scratch, `after-${round}`), false, opts);
      out.after.push(after);
      opts.log(`round ${round}/${opts.runs}  verified after arrival: ${describe(after)}`);
    }
    const serial = await serialInstall(ws, path.join(ws.scratch, `serial-${round}`));
    out.serial.push(serial);
    opts.log(
      `round ${round}/${opts.runs}  copy ${(serial.copyMs / 1000).toFixed(2)} s, then airlock install ${(serial.installMs / 1000).toFixed(2)} s${serial.exitCode === 0 ? '' : ` FAILED: ${serial.error ?? ''}`}`,
    );
  }
  return out;
}

function describe(r: ArrivalRun): string {
  const lat = r.lastByteToInstalledMs === undefined ? r.state : `last byte → installed ${(r.lastByteToInstalledMs / 1000).toFixed(2)} s`;
  const tl = r.timeline;
  const steps = tl ? ` (staged +${tl.stagedMs ?? '-'} ms, verifying +${tl.verifyingMs ?? '-'} ms, install ${tl.installMs ?? '-'} ms)` : '';
  return `${lat}${steps}; arrival ${(r.arrivalMs / 1000).toFixed(1)} s, ${r.bytesPrestaged ?? 0} bytes verified while arriving${r.error ? `; ${r.error}` : ''}`;
}

async function daemonArrival(ws: Workspace, dir: string, early: boolean, opts: ArrivalModeOptions): Promise<ArrivalRun> {
  // Defaults otherwise (quiet period 3 s, settle time 250 ms): what a user gets.
  const daemon = await startDaemon(dir, ws.allowedSigners, { quietPeriodMs: 3000, arrival: { verifyWhileArriving: early } });
  const dest = path.join(daemon.drop, 'model');
  const api = new PacedLoad(daemon.port, '/v1/status', API_EVERY_MS);
  try {
    // The head first (rsync would send signatures/ after payload/): the daemon judges trust before the payload.
    await run('rsync', ['-a', '--include=/airlock.json', '--include=/signatures/***', '--exclude=*', `${ws.dirBundle}/`, `${dest}/`]);
    await waitFor(daemon, (b) => b !== undefined && (!early || b.arrival?.staging === 'staging'), 120_000);
    const loading = api.run();
    const started = Date.now();
    await run('rsync', ['-a', `--bwlimit=${Math.max(1, Math.round(opts.rate / 1024))}`, `${ws.dirBundle}/`, `${dest}/`], { maxBuffer: 1 << 20 });
    const lastByte = Date.now();
    const seen: { staged?: number; verifying?: number } = {};
    const rec = await waitFor(
      daemon,
      (b) => {
        if (b?.arrival?.staging === 'staged') seen.staged ??= Date.now() - lastByte;
        if (b?.state === 'verifying') seen.verifying ??= Date.now() - lastByte;
        return b !== undefined && FINISHED.has(b.state);
      },
      TIMEOUT_MS,
    );
    api.stop();
    await loading;
    const installedAt = Date.parse(rec!.updatedAt);
    const hwm = await daemonPeakRssKiB(daemon);
    const result: ArrivalRun = {
      arrivalMs: lastByte - started,
      state: rec!.state,
      apiLatenciesMs: api.latencies,
      apiErrors: api.errors,
      ...(rec!.state === 'installed'
        ? { lastByteToInstalledMs: installedAt - lastByte }
        : { error: `${rec!.error?.code ?? ''} ${rec!.error?.message ?? ''}` }),
      ...(rec!.install?.bytesPrestaged === undefined ? {} : { bytesPrestaged: rec!.install.bytesPrestaged }),
      timeline: {
        ...(seen.staged === undefined ? {} : { stagedMs: seen.staged }),
        ...(seen.verifying === undefined ? {} : { verifyingMs: seen.verifying }),
        ...(rec!.install?.durationMs === undefined ? {} : { installMs: Math.round(rec!.install.durationMs) }),
      },
      ...(hwm === undefined ? {} : { daemonPeakRssKiB: hwm }),
    };
    return result;
  } finally {
    api.stop();
    await stopDaemon(daemon);
    await fsp.rm(dir, { recursive: true, force: true });
    await syncDisks();
  }
}

async function serialInstall(ws: Workspace, dir: string): Promise<SerialRun> {
  await fsp.mkdir(dir, { recursive: true });
  try {
    const copy = path.join(dir, 'model');
    const t0 = Date.now();
    await run('cp', ['-r', ws.dirBundle, copy]);
    const copyMs = Date.now() - t0;
    const install = await runTimed(
      { argv: airlockArgv(['install', copy, '--store', path.join(dir, 'store'), '--trust', ws.allowedSigners]), env: childEnv() },
      path.join(dir, 'rss.txt'),
    );
    return {
      copyMs,
      installMs: install.ms,
      exitCode: install.exitCode,
      ...(install.peakRssKiB === undefined ? {} : { peakRssKiB: install.peakRssKiB }),
      ...(install.errorTail ? { error: install.errorTail.split('\n')[0] } : {}),
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
    await syncDisks();
  }
}

interface Rec {
  state: string;
  updatedAt: string;
  arrival?: { staging?: string };
  install?: { bytesPrestaged?: number; durationMs?: number };
  error?: { code?: string; message?: string };
}

/** Poll the one bundle's record every 10 ms on a connection of its own. */
async function waitFor(d: RunningDaemon, test: (b: Rec | undefined) => boolean, timeoutMs: number): Promise<Rec | undefined> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (d.child.exitCode !== null) throw new Error(`the daemon exited (${d.child.exitCode}); see ${d.logFile}`);
      const b = await getOnce(agent, d.port, '/v1/bundles?limit=1').then(
        (r) => (JSON.parse(r.body) as { bundles?: Rec[] }).bundles?.[0],
        () => undefined,
      );
      if (test(b)) return b;
      if (Date.now() > deadline) throw new Error(`the bundle stayed ${b?.state ?? 'unseen'} for ${timeoutMs / 1000} s; see ${d.logFile}`);
      await sleep(10);
    }
  } finally {
    agent.destroy();
  }
}

/** One request every `everyMs` (or as soon as the previous one is answered, if later), latencies kept. */
class PacedLoad {
  readonly latencies: number[] = [];
  errors = 0;
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly port: number,
    private readonly route: string,
    private readonly everyMs: number,
  ) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      const t0 = process.hrtime.bigint();
      try {
        const { status } = await getOnce(this.agent, this.port, this.route);
        if (status === 200) this.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        else this.errors++;
      } catch {
        this.errors++;
      }
      const spent = Number(process.hrtime.bigint() - t0) / 1e6;
      if (spent < this.everyMs) await sleep(this.everyMs - spent);
    }
    this.agent.destroy();
  }

  stop(): void {
    this.stopped = true;
  }
}
