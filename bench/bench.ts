// `npm run bench`: airlock against the standard tools on the same synthetic model tree (issue 6).
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { runApiMode } from './api-mode.js';
import { CASES } from './cases.js';
import { runFilesMode } from './files-mode.js';
import { formatTable } from './format-table.js';
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions } from './options.js';
import { cacheStatement } from './cache-state.js';
import { buildComparisons, buildRows, cacheResidency, judgeTargets, round, type ApiReport, type RowReport } from './report.js';
import { canDropPageCache, HAVE_GNU_TIME } from './run-timed.js';
import { runSticksMode, type SticksReport } from './sticks-mode.js';
import { createWorkspace, removeWorkspace, type Workspace } from './workspace.js';

const GiB = 1024 ** 3;

function log(m: string): void {
  process.stderr.write(`bench: ${m}\n`);
}

function header(opts: BenchOptions, ws: Workspace, cache: string, started: Date, startLoad: number[]): string[] {
  const cpus = os.cpus();
  const shards = ws.plan.filter((f) => f.path.endsWith('.safetensors')).length;
  const engines = ws.plan.filter((f) => f.path.endsWith('.engine')).length;
  return [
    `airlock benchmark, ${started.toISOString()}`,
    `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / GiB).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`,
    `data: ${ws.plan.length} files, ${(ws.payloadBytes / GiB).toFixed(2)} GiB of random bytes (${shards} safetensors shards, ${engines} engines, ${ws.plan.length - shards - engines} small files) in ${ws.root}`,
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
  const ws = await createWorkspace(opts.workDir, opts.size, log);
  try {
    let rows: RowReport[] = [];
    let residency;
    if (opts.mode === 'files' || opts.mode === 'all') {
      const results = await runFilesMode(ws, CASES, { runs: opts.runs, cold: opts.cold, log });
      rows = buildRows(results, ws.payloadBytes);
      residency = cacheResidency(results);
    }
    const cache = cacheStatement(opts.cold, opts.size, os.totalmem(), residency);
    let api: ApiReport | undefined;
    if (opts.mode === 'api' || opts.mode === 'all') api = await runApiMode(ws, { requests: opts.apiRequests, concurrency: opts.apiConcurrency, log });
    let sticks: SticksReport | undefined;
    if (opts.mode === 'sticks' || opts.mode === 'all')
      sticks = await runSticksMode(ws, { gapSeconds: opts.stickGap, concurrency: opts.apiConcurrency, cold: opts.cold, log });
    const comparisons = buildComparisons(rows);
    const targets = judgeTargets(rows, comparisons, api, ws.payloadBytes, sticks);
    const head = header(opts, ws, cache.note, started, startLoad);
    process.stdout.write(formatTable({ header: head, rows, comparisons, ...(api ? { api } : {}), ...(sticks ? { sticks } : {}), targets }) + '\n');
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
          stickGap: opts.stickGap,
        },
        data: { files: ws.plan.length, payloadBytes: ws.payloadBytes, payloadGiB: round(ws.payloadBytes / GiB, 3) },
        cache,
        rssMethod: HAVE_GNU_TIME ? 'gnu-time-%M' : 'none',
        rows,
        comparisons,
        ...(api ? { api } : {}),
        ...(sticks ? { sticks } : {}),
        targets,
      };
      await fsp.writeFile(opts.json, JSON.stringify(doc, null, 2) + '\n');
    }
    return rows.every((r) => r.ok) && (sticks === undefined || sticks.state === 'installed') ? 0 : 1;
  } finally {
    if (opts.keep) log(`kept ${ws.root}`);
    else await removeWorkspace(ws);
  }
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
