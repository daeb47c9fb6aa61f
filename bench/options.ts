// `npm run bench -- [options]`: command-line values turned into checked BenchOptions. Pure.
import { parseArgs } from 'node:util';

export type BenchMode = 'files' | 'api' | 'registry' | 'arrival' | 'scale' | 'sticks' | 'all';

export interface BenchOptions {
  /** payload bytes of the synthetic model tree */
  size: number;
  /** runs of each command, interleaved round-robin */
  runs: number;
  mode: BenchMode;
  /** also write the results as JSON here */
  json?: string;
  /** drop the page cache before each command (needs root) */
  cold: boolean;
  /** parent folder of the temporary work folder (default: the OS temp folder) */
  workDir?: string;
  /** keep the work folder afterwards (for profiling by hand) */
  keep: boolean;
  /** status API load: requests per phase and how many in flight */
  apiRequests: number;
  apiConcurrency: number;
  /** arrival: folder bundles of these sizes arrive by rsync into a watched drop folder */
  arrivalSizes: number[];
  /** arrival: runs per size */
  arrivalRuns: number;
  /** arrival: rsync --bwlimit, bytes per second */
  arrivalRate: number;
  /** scale: how many small files */
  scaleFiles: number;
  /** sticks mode: seconds between the first stick being done and the second appearing */
  stickGap: number;
}

export const USAGE = `usage: npm run bench -- [--size SIZE] [--runs N] [--mode files|api|registry|arrival|scale|sticks|all] [--json FILE]
                       [--cold] [--work-dir DIR] [--keep] [--api-requests N] [--api-concurrency N]
                       [--arrival-sizes SIZE,…] [--arrival-runs N] [--arrival-rate RATE] [--scale-files N] [--stick-gap S]
  --size    payload size of the synthetic model tree: 2G (default), 8G, 512M, 8M …
  --runs    runs of each command, taken round-robin (default 5)
  --mode    files: pack, verify, install and the baselines; api: status API latency, idle and
            during a daemon install; registry: publish and pull through a local CNCF Distribution
            against skopeo copy and curl (needs docker-registry, skopeo, curl); arrival: last byte → installed for folder bundles arriving
            by rsync --bwlimit into a watched drop folder, beside copy-then-install; scale: many
            small files, verify and install beside sha256sum -c and tar -xf; sticks: the split
            bundle on two sticks under a media root, the second appearing later (its appearance →
            installed); all (default): every one
  --arrival-sizes  bundle sizes for arrival (default 2G,8G; each needs about 3× its size free)
  --arrival-runs   runs per arrival size (default 3)
  --arrival-rate   rsync --bwlimit for arrival, bytes per second: 200M (default) is 200 MB/s
  --scale-files    files of 4 KiB for scale (default 100000)
  --stick-gap      seconds between the first stick being spooled and the second appearing (default 60)
  --json    also write every number as JSON to FILE
  --cold    drop the page cache before each command (root only); the default measures a warm cache
  --work-dir  where the temporary work folder goes (default the OS temp folder); needs about 5× SIZE free
  --keep    leave the work folder in place afterwards`;

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `8M`, `2G`, `1.5G`, plain bytes; 1024-based. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toUpperCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 * 1024)
    throw new BenchUsageError(`--size ${JSON.stringify(text)}: expected a size of at least 1M such as 2G or 8M`);
  return bytes;
}

/** A rate in bytes per second; M and G are 10^6 and 10^9 here (MB/s, as the targets say). */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)$/i.exec(text.trim());
  const unit = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[(m?.[2] ?? '').toUpperCase()];
  const rate = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(rate) || rate < 1024)
    throw new BenchUsageError(`--arrival-rate ${JSON.stringify(text)}: expected a rate such as 200M (MB/s)`);
  return rate;
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new BenchUsageError(`${flag} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
  return Number(text);
}

function nonNegativeInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new BenchUsageError(`${flag} must be a whole number ≥ 0, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        size: { type: 'string' },
        runs: { type: 'string' },
        mode: { type: 'string' },
        json: { type: 'string' },
        cold: { type: 'boolean' },
        'work-dir': { type: 'string' },
        keep: { type: 'boolean' },
        'api-requests': { type: 'string' },
        'api-concurrency': { type: 'string' },
        'arrival-sizes': { type: 'string' },
        'arrival-runs': { type: 'string' },
        'arrival-rate': { type: 'string' },
        'scale-files': { type: 'string' },
        'stick-gap': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const mode = values.mode ?? 'all';
  if (!['files', 'api', 'registry', 'arrival', 'scale', 'sticks', 'all'].includes(mode))
    throw new BenchUsageError('--mode must be files, api, registry, arrival, scale, sticks or all');
  const opts: BenchOptions = {
    size: values.size === undefined ? 2 * 1024 ** 3 : parseSize(values.size),
    runs: positiveInt(values.runs, '--runs', 5),
    mode: mode as BenchMode,
    cold: values.cold ?? false,
    keep: values.keep ?? false,
    apiRequests: positiveInt(values['api-requests'], '--api-requests', 2000),
    apiConcurrency: positiveInt(values['api-concurrency'], '--api-concurrency', 4),
    arrivalSizes: (values['arrival-sizes'] ?? '2G,8G').split(',').map((s) => parseSize(s)),
    arrivalRuns: positiveInt(values['arrival-runs'], '--arrival-runs', 3),
    arrivalRate: parseRate(values['arrival-rate'] ?? '200M'),
    scaleFiles: positiveInt(values['scale-files'], '--scale-files', 100_000),
    stickGap: values['stick-gap'] === undefined ? 60 : nonNegativeInt(values['stick-gap'], '--stick-gap'),
  };
  if (values.json !== undefined) opts.json = values.json;
  if (values['work-dir'] !== undefined) opts.workDir = values['work-dir'];
  return opts;
}
