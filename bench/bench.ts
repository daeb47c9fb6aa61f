// `npm run bench`: airlock against the standard tools on the same synthetic model tree (issue 6).
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { runApiMode } from './api-mode.js';
import { runArrivalSize } from './arrival-mode.js';
import { CASES, SCALE_CASES } from './cases.js';
import { runFilesMode, type CaseRuns } from './files-mode.js';
import { runRegistryMode } from './registry-mode.js';
import { registryToolsMissing } from './registry-server.js';
import { formatTable } from './format-table.js';
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions } from './options.js';
import { cacheStatement } from './cache-state.js';
import {
  buildArrivalReport,
  buildComparisons,
  buildRows,
  buildScaleReport,
  cacheResidency,
  judgeTargets,
  round,
  sizeLabel,
  type ApiReport,
  type ArrivalReport,
  type RegistryReport,
  type RowReport,
  type ScaleReport,
} from './report.js';
import { canDropPageCache, HAVE_GNU_TIME } from './run-timed.js';
import { planSmallFiles } from './source-plan.js';
import { runSticksMode } from './sticks-mode.js';
import { createWorkspace, removeWorkspace, type Workspace } from './workspace.js';

const GiB = 1024 ** 3;

function log(m: string): void {
  process.stderr.write(`bench: ${m}\n`);
}

function header(opts: BenchOptions, ws: Workspace | undefined, cache: string, started: Date, startLoad: number[]): string[] {
  const cpus = os.cpus();
  const shards = ws?.plan.filter((f) => f.path.endsWith('.safetensors')).length ?? 0;
  const engines = ws?.plan.filter((f) => f.path.endsWith('.engine')).length ?? 0;
  return [
    `airlock benchmark, ${started.toISOString()}`,
    `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / GiB).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`,
    ws
      ? `data: ${ws.plan.length} files, ${(ws.payloadBytes / GiB).toFixed(2)} GiB of random bytes (${shards} safetensors shards, ${engines} engines, ${ws.plan.length - shards - engines} small files) in ${ws.root}`
      : 'data: generated per section (below)',
    `runs: ${opts.runs} per command, round-robin; wall-clock time of the whole child process (node start-up included); MB = 10^6 bytes of payload`,
    `page cache: ${cache}`,
    `load average: ${startLoad.join(' ')} at start, ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end (1, 5, 15 min; anything else running skews the numbers)`,
    `peak RSS: ${HAVE_GNU_TIME ? "GNU time's %M (the kernel's ru_maxrss of the child, worker threads included)" : 'not measured (/usr/bin/time missing)'}`,
  ];
}

async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.cold && !(await canDropPageCache())) {
    process.stderr.write('bench: --cold needs root (writing /proc/sys/vm/drop_caches)\n');
    return 2;
  }
  const started = new Date();
  const startLoad = os.loadavg().map((l) => round(l, 2));
  const wants = (m: BenchOptions['mode']) => opts.mode === m || opts.mode === 'all';
  const ws = wants('files') || wants('api') || wants('registry') || wants('sticks') ? await createWorkspace(opts.workDir, opts.size, log) : undefined;
  try {
    let rows: RowReport[] = [];
    let residency;
    let registry: RegistryReport | undefined;
    const results: CaseRuns[] = [];
    const files = ws && wants('files') ? await runFilesMode(ws, CASES, { runs: opts.runs, cold: opts.cold, log }) : [];
    results.push(...files);
    if (ws && wants('registry')) {
      const missing = registryToolsMissing();
      if (missing && opts.mode === 'registry') throw new Error(`--mode registry: ${missing}`);
      if (missing) {
        log(`registry mode skipped: ${missing}`);
        registry = { republishBytes: [], note: `skipped: ${missing}` };
      } else {
        const r = await runRegistryMode(ws, { runs: opts.runs, log });
        results.push(...r.runs);
        registry = { republishBytes: r.republishBytes };
      }
    }
    if (ws && results.length) rows = buildRows(results, ws.payloadBytes);
    // The page-cache statement is about the bundles' files; registry rows read the registry's own storage
    // too (their residency is in each row).
    const measured = files.length ? files : results;
    if (measured.length) residency = cacheResidency(measured);
    const cache = cacheStatement(opts.cold, opts.size, os.totalmem(), residency);
    let api: ApiReport | undefined;
    if (ws && wants('api')) api = await runApiMode(ws, { requests: opts.apiRequests, concurrency: opts.apiConcurrency, log });
    const sticks =
      ws && wants('sticks')
        ? await runSticksMode(ws, { gapSeconds: opts.stickGap, concurrency: opts.apiConcurrency, cold: opts.cold, log })
        : undefined;
    const arrival = wants('arrival') ? await runArrival(opts, ws) : undefined;
    const scale = wants('scale') ? await runScale(opts) : undefined;
    const comparisons = buildComparisons(rows);
    const targets = judgeTargets(rows, comparisons, api, ws?.payloadBytes ?? opts.size, {
      ...(registry ? { registry } : {}),
      ...(arrival ? { arrival } : {}),
      ...(scale ? { scale } : {}),
      ...(sticks ? { sticks } : {}),
    });
    const head = header(opts, ws, cache.note, started, startLoad);
    process.stdout.write(
      formatTable({
        header: head,
        rows,
        comparisons,
        ...(api ? { api } : {}),
        ...(arrival ? { arrival } : {}),
        ...(scale ? { scale } : {}),
        ...(sticks ? { sticks } : {}),
        targets,
      }) + '\n',
    );
    if (opts.json) {
      const doc = {
        schema: 'airlock.bench/v1',
        date: started.toISOString(),
        command: `npm run bench --${argv.length ? ' ' + argv.join(' ') : ''}`,
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model.trim(),
          memBytes: os.totalmem(),
          os: `${os.type()} ${os.release()}`,
          node: process.version,
        },
        loadAverage: { start: startLoad, end: os.loadavg().map((l) => round(l, 2)) },
        options: {
          size: opts.size,
          runs: opts.runs,
          mode: opts.mode,
          cold: opts.cold,
          apiRequests: opts.apiRequests,
          apiConcurrency: opts.apiConcurrency,
          arrivalSizes: opts.arrivalSizes,
          arrivalRuns: opts.arrivalRuns,
          arrivalRate: opts.arrivalRate,
          scaleFiles: opts.scaleFiles,
          stickGap: opts.stickGap,
        },
        ...(ws ? { data: { files: ws.plan.length, payloadBytes: ws.payloadBytes, payloadGiB: round(ws.payloadBytes / GiB, 3) } } : {}),
        cache,
        rssMethod: HAVE_GNU_TIME ? 'gnu-time-%M' : 'none',
        rows,
        comparisons,
        ...(api ? { api } : {}),
        ...(registry ? { registry } : {}),
        ...(arrival ? { arrival } : {}),
        ...(scale ? { scale } : {}),
        ...(sticks ? { sticks } : {}),
        targets,
      };
      await fsp.writeFile(opts.json, JSON.stringify(doc, null, 2) + '\n');
    }
    const failed =
      [...rows, ...(scale?.rows ?? [])].some((r) => !r.ok) ||
      (arrival ?? []).some((a) => a.early.failures.length > 0 || !a.early.seconds) ||
      (sticks !== undefined && sticks.state !== 'installed');
    return failed ? 1 : 0;
  } finally {
    if (ws && opts.keep) log(`kept ${ws.root}`);
    else if (ws) await removeWorkspace(ws);
  }
}

/** Each arrival size on its own data (the main tree when the size is the same), removed before the next. */
async function runArrival(opts: BenchOptions, main: Workspace | undefined): Promise<ArrivalReport[]> {
  const out: ArrivalReport[] = [];
  for (const size of opts.arrivalSizes) {
    const reuse = main && main.payloadBytes === size ? main : undefined;
    // The packed bundle (kept), the copy in the drop, the store; and the source beside the bundle while packing.
    const need = (reuse ? 2.1 : 3.1) * size;
    const free = await freeBytes(opts.workDir ?? os.tmpdir());
    if (free < need) {
      log(`arrival ${sizeLabel(size)}: skipped, ${sizeLabel(free)} free where ${sizeLabel(need)} is needed`);
      out.push(
        buildArrivalReport({
          size,
          files: 0,
          early: [{ arrivalMs: 0, state: 'skipped', error: 'not enough free disk space', apiLatenciesMs: [], apiErrors: 0 }],
          after: [],
          serial: [],
        }),
      );
      continue;
    }
    const ws = reuse ?? (await createWorkspace(opts.workDir, size, log, { forms: ['dir'], dropSource: true }));
    try {
      log(`arrival ${sizeLabel(size)}: ${opts.arrivalRuns} run(s) at ${round(opts.arrivalRate / 1e6, 0)} MB/s`);
      out.push(buildArrivalReport(await runArrivalSize(ws, { runs: opts.arrivalRuns, rate: opts.arrivalRate, log })));
    } finally {
      if (!reuse && !opts.keep) await removeWorkspace(ws);
    }
  }
  return out;
}

const SCALE_FILE_SIZE = 4096;

async function runScale(opts: BenchOptions): Promise<ScaleReport> {
  const plan = planSmallFiles(opts.scaleFiles, SCALE_FILE_SIZE);
  log(`scale: ${opts.scaleFiles} files of ${SCALE_FILE_SIZE} bytes`);
  const ws = await createWorkspace(opts.workDir, opts.scaleFiles * SCALE_FILE_SIZE, log, { plan, forms: ['dir', 'tar'], dropSource: true });
  try {
    const results = await runFilesMode(ws, SCALE_CASES, { runs: opts.runs, cold: opts.cold, log });
    return buildScaleReport(results, opts.scaleFiles, SCALE_FILE_SIZE);
  } finally {
    if (opts.keep) log(`kept ${ws.root}`);
    else await removeWorkspace(ws);
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
