// Turn raw runs into the table, the ratios and the target verdicts. Pure: no I/O, no clock.
import { COMPARISONS } from './cases.js';
import type { CaseRuns } from './files-mode.js';
import type { SticksReport } from './sticks-mode.js';
import type { LatencySummary } from './stats.js';
import { summarize, type Summary } from './stats.js';

export interface RowReport {
  id: string;
  label: string;
  kind: 'airlock' | 'baseline';
  ok: boolean;
  /** the first failure's stderr tail, when a run failed */
  error?: string;
  runsMs: number[];
  seconds?: Summary;
  /** payload MB (10^6 bytes) per second at the median */
  mbPerSec?: number;
  /** largest peak RSS over the runs, MB (10^6 bytes, as in the target) */
  peakRssMB?: number;
  /** median time over the `cat` floor's */
  overFloor?: number;
  /** lowest share (percent) of the input found in the page cache before a run (fincore) */
  inputCachedMinPct?: number;
}

export interface ComparisonReport {
  subject: string;
  baseline: string;
  /** median time of the airlock command / median time of the baseline */
  timeRatio?: number;
}

export interface ApiPhase {
  label: 'idle' | 'during-install';
  latencyMs: LatencySummary;
  errors: number;
  /** the install the load ran against (during-install only) */
  install?: { state: string; seconds: number; requestsDuringInstall: number };
}

export interface ApiReport {
  phases: ApiPhase[];
  /** the daemon's VmHWM at the end of the API run, MB */
  daemonPeakRssMB?: number;
  note?: string;
}

export type Verdict = 'PASS' | 'MISS' | 'N/A';

export interface TargetReport {
  id: string;
  text: string;
  verdict: Verdict;
  measured: string;
}

const RSS_LIMIT_MB = 150;

export function buildRows(results: CaseRuns[], payloadBytes: number): RowReport[] {
  const rows = results.map((r): RowReport => {
    const failed = r.runs.find((x) => x.exitCode !== 0);
    const row: RowReport = { id: r.id, label: r.label, kind: r.kind, ok: r.runs.length > 0 && !failed, runsMs: r.runs.map((x) => round(x.ms, 1)) };
    if (failed) row.error = failed.errorTail ?? `exit ${failed.exitCode}`;
    if (!row.ok) return row;
    const s = summarize(r.runs.map((x) => x.ms / 1000));
    row.seconds = { n: s.n, median: round(s.median, 3), min: round(s.min, 3), max: round(s.max, 3), q1: round(s.q1, 3), q3: round(s.q3, 3) };
    row.mbPerSec = round(payloadBytes / 1e6 / s.median, 0);
    const rss = r.runs.map((x) => x.peakRssKiB ?? 0).filter((x) => x > 0);
    if (rss.length) row.peakRssMB = round((Math.max(...rss) * 1024) / 1e6, 1);
    const cached = r.runs.map((x) => x.inputCached).filter((x): x is number => x !== undefined);
    if (cached.length) row.inputCachedMinPct = round(100 * Math.min(...cached), 1);
    return row;
  });
  const floor = rows.find((r) => r.id === 'cat')?.seconds?.median;
  for (const r of rows) if (floor && r.seconds) r.overFloor = round(r.seconds.median / floor, 2);
  return rows;
}

/** Lowest and median input residency over every run of every row, in percent (fincore). */
export function cacheResidency(results: CaseRuns[]): { minPct: number; medianPct: number } | undefined {
  const all = results.flatMap((r) => r.runs.map((x) => x.inputCached)).filter((x): x is number => x !== undefined);
  if (all.length === 0) return undefined;
  const s = summarize(all.map((x) => 100 * x));
  return { minPct: round(s.min, 1), medianPct: round(s.median, 1) };
}

export function buildComparisons(rows: RowReport[]): ComparisonReport[] {
  const median = (id: string) => rows.find((r) => r.id === id)?.seconds?.median;
  return COMPARISONS.map(({ subject, baseline }) => {
    const a = median(subject);
    const b = median(baseline);
    return a !== undefined && b !== undefined ? { subject, baseline, timeRatio: round(a / b, 2) } : { subject, baseline };
  });
}

/** The targets, judged on this run's numbers; N/A when the run did not measure them. */
export function judgeTargets(
  rows: RowReport[],
  comparisons: ComparisonReport[],
  api: ApiReport | undefined,
  sizeBytes: number,
  sticks?: SticksReport,
): TargetReport[] {
  const ratio = (s: string, b: string) => comparisons.find((c) => c.subject === s && c.baseline === b)?.timeRatio;
  const atMost = (v: number | undefined, limit: number): Verdict => (v === undefined ? 'N/A' : v <= limit ? 'PASS' : 'MISS');
  const fmt = (v: number | undefined, unit: string) => (v === undefined ? 'not measured' : `${v}${unit}`);

  const tarX = ratio('install-tar', 'tar-x');
  const tarXSum = ratio('install-tar', 'tar-x-sha256sum');
  const verify = ratio('verify-dir', 'sha256sum');
  const verifySpeedup = verify === undefined ? undefined : round(1 / verify, 2);
  const rss = rows.filter((r) => r.kind === 'airlock' && r.peakRssMB !== undefined).map((r) => ({ id: r.id, mb: r.peakRssMB ?? 0 }));
  const worst = rss.sort((a, b) => b.mb - a.mb)[0];
  const daemonRss = api?.daemonPeakRssMB;
  const busy = api?.phases.find((p) => p.label === 'during-install');
  const sizeText = `${round(sizeBytes / 1024 ** 3, 2)} GiB`;
  return [
    { id: 'install-vs-tar', text: 'install from tar ≤ 1.3× tar -xf', verdict: atMost(tarX, 1.3), measured: fmt(tarX, '×') },
    {
      id: 'install-vs-tar-sha256sum',
      text: 'install from tar ≤ 0.5× tar -xf && sha256sum -c',
      verdict: atMost(tarXSum, 0.5),
      measured: fmt(tarXSum, '×'),
    },
    {
      id: 'verify-throughput',
      text: 'verify dir ≥ 3× the throughput of sha256sum -c',
      verdict: verifySpeedup === undefined ? 'N/A' : verifySpeedup >= 3 ? 'PASS' : 'MISS',
      measured: fmt(verifySpeedup, '×'),
    },
    {
      id: 'peak-rss',
      text: `peak RSS of every airlock command < 150 MB (this run: ${sizeText} bundle)`,
      verdict: worst === undefined ? 'N/A' : worst.mb < RSS_LIMIT_MB ? 'PASS' : 'MISS',
      measured: worst === undefined ? 'not measured' : `largest ${worst.mb} MB (${worst.id})`,
    },
    {
      id: 'daemon-peak-rss',
      text: `peak RSS of the daemon installing the tar < 150 MB (this run: ${sizeText} bundle)`,
      verdict: daemonRss === undefined ? 'N/A' : daemonRss < RSS_LIMIT_MB ? 'PASS' : 'MISS',
      measured: daemonRss === undefined ? 'not measured' : `${daemonRss} MB`,
    },
    {
      id: 'api-p99',
      text: 'status API p99 < 50 ms while an install runs',
      verdict: busy === undefined || busy.latencyMs.count === 0 ? 'N/A' : busy.latencyMs.p99 < 50 ? 'PASS' : 'MISS',
      measured: busy === undefined ? 'not measured' : `p99 ${round(busy.latencyMs.p99, 1)} ms over ${busy.latencyMs.count} requests`,
    },
    ...sticksTargets(sticks, sizeText),
  ];
}

/** Split parts on two sticks: the second stick's appearance to installed, the daemon's peak RSS, the API throughout. */
export function sticksTargets(s: SticksReport | undefined, sizeText: string): TargetReport[] {
  const installed = s?.state === 'installed' ? s.lastStickToInstalledSeconds : undefined;
  const mib = (b: number) => `${round(b / 1024 ** 2, 0)} MiB`;
  return [
    {
      id: 'sticks-last-part',
      text: 'split parts on two sticks: second stick (last part) → installed ≤ 1.5 s',
      verdict: s === undefined ? 'N/A' : installed === undefined ? 'MISS' : installed <= 1.5 ? 'PASS' : 'MISS',
      measured:
        s === undefined
          ? 'not measured'
          : installed === undefined
            ? `ended ${s.state}`
            : `${installed} s for ${s.stickB.parts} part(s), ${mib(s.stickB.bytes)} (${s.lastStickMBps} MB/s); last part spooled → installed ${s.lastPartSpooledToInstalledSeconds} s`,
    },
    {
      id: 'sticks-daemon-rss',
      text: `peak RSS of the daemon spooling and installing split parts < 150 MB (this run: ${sizeText} bundle)`,
      verdict: s?.daemonPeakRssMB === undefined ? 'N/A' : s.daemonPeakRssMB < RSS_LIMIT_MB ? 'PASS' : 'MISS',
      measured: s?.daemonPeakRssMB === undefined ? 'not measured' : `${s.daemonPeakRssMB} MB`,
    },
    {
      id: 'sticks-api-p99',
      text: 'status API p99 < 50 ms throughout the two sticks',
      verdict: s === undefined || s.api.latencyMs.count === 0 ? 'N/A' : s.api.latencyMs.p99 < 50 ? 'PASS' : 'MISS',
      measured: s === undefined ? 'not measured' : `p99 ${s.api.latencyMs.p99} ms over ${s.api.latencyMs.count} requests`,
    },
  ];
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
