// Turn raw runs into the table, the ratios and the target verdicts. Pure: no I/O, no clock.
import type { ArrivalSizeRuns } from './arrival-mode.js';
import { COMPARISONS, SCALE_COMPARISONS } from './cases.js';
import type { CaseRuns } from './files-mode.js';
import type { SticksReport } from './sticks-mode.js';
import type { LatencySummary } from './stats.js';
import { latencies, summarize, type Summary } from './stats.js';

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

/** Last byte → installed for one bundle size: verified while arriving, and beside it on the same data. */
export interface ArrivalReport {
  size: number;
  files: number;
  /** the payload rsync's achieved rate, MB/s (median over runs) */
  rateMBs?: number;
  /** verified while arriving: last byte → installed, seconds */
  early: { runsMs: number[]; seconds?: Summary; failures: string[]; allPrestaged: boolean };
  /** the same daemon verifying only after arrival (quiet period, then a whole install) */
  after: { runsMs: number[]; seconds?: Summary; failures: string[] };
  /** copy, then `airlock install`: the install's time is what follows the last byte */
  serial: { installMs: number[]; seconds?: Summary; copySeconds?: Summary; failures: string[]; peakRssMB?: number };
  /** the daemon's VmHWM, largest over the runs verified while arriving, MB */
  daemonPeakRssMB?: number;
  /** GET /v1/status throughout arrival and install (runs verified while arriving) */
  api: LatencySummary & { errors: number };
}

/** The scale rows: many small files, their own comparisons. */
export interface ScaleReport {
  files: number;
  fileSize: number;
  rows: RowReport[];
  comparisons: ComparisonReport[];
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

export function buildComparisons(rows: RowReport[], list = COMPARISONS): ComparisonReport[] {
  const median = (id: string) => rows.find((r) => r.id === id)?.seconds?.median;
  const ran = (id: string) => rows.some((r) => r.id === id);
  // Pairs of a mode that did not run are left out; a pair whose command failed stays, unmeasured.
  return list
    .filter(({ subject, baseline }) => ran(subject) && ran(baseline))
    .map(({ subject, baseline }) => {
      const a = median(subject);
      const b = median(baseline);
      return a !== undefined && b !== undefined ? { subject, baseline, timeRatio: round(a / b, 2) } : { subject, baseline };
    });
}

export function buildScaleReport(results: CaseRuns[], files: number, fileSize: number): ScaleReport {
  const rows = buildRows(results, files * fileSize);
  return { files, fileSize, rows, comparisons: buildComparisons(rows, SCALE_COMPARISONS) };
}

export function buildArrivalReport(r: ArrivalSizeRuns): ArrivalReport {
  const secs = (ms: number[]) => (ms.length ? roundSummary(summarize(ms.map((x) => x / 1000))) : undefined);
  const ok = r.early.filter((x) => x.lastByteToInstalledMs !== undefined);
  const earlyMs = ok.map((x) => round(x.lastByteToInstalledMs!, 1));
  const afterMs = r.after.filter((x) => x.lastByteToInstalledMs !== undefined).map((x) => round(x.lastByteToInstalledMs!, 1));
  const serialOk = r.serial.filter((x) => x.exitCode === 0);
  const rates = [...r.early, ...r.after].filter((x) => x.arrivalMs > 0).map((x) => r.size / 1e6 / (x.arrivalMs / 1000));
  const hwm = r.early.map((x) => x.daemonPeakRssKiB ?? 0).filter((x) => x > 0);
  const serialRss = serialOk.map((x) => x.peakRssKiB ?? 0).filter((x) => x > 0);
  const lat = latencies(r.early.flatMap((x) => x.apiLatenciesMs));
  const report: ArrivalReport = {
    size: r.size,
    files: r.files,
    early: {
      runsMs: earlyMs,
      failures: r.early.filter((x) => x.lastByteToInstalledMs === undefined).map((x) => `${x.state}: ${x.error ?? ''}`.trim()),
      allPrestaged: ok.length > 0 && ok.every((x) => x.bytesPrestaged === r.size),
    },
    after: {
      runsMs: afterMs,
      failures: r.after.filter((x) => x.lastByteToInstalledMs === undefined).map((x) => `${x.state}: ${x.error ?? ''}`.trim()),
    },
    serial: {
      installMs: serialOk.map((x) => round(x.installMs, 1)),
      failures: r.serial.filter((x) => x.exitCode !== 0).map((x) => x.error ?? 'failed'),
    },
    api: {
      count: lat.count,
      p50: round(lat.p50, 2),
      p90: round(lat.p90, 2),
      p99: round(lat.p99, 2),
      max: round(lat.max, 2),
      errors: r.early.reduce((n, x) => n + x.apiErrors, 0),
    },
  };
  const e = secs(earlyMs);
  if (e) report.early.seconds = e;
  const a = secs(afterMs);
  if (a) report.after.seconds = a;
  const si = secs(serialOk.map((x) => x.installMs));
  if (si) report.serial.seconds = si;
  const sc = secs(serialOk.map((x) => x.copyMs));
  if (sc) report.serial.copySeconds = sc;
  if (serialRss.length) report.serial.peakRssMB = round((Math.max(...serialRss) * 1024) / 1e6, 1);
  if (rates.length) report.rateMBs = round(summarize(rates).median, 0);
  if (hwm.length) report.daemonPeakRssMB = round((Math.max(...hwm) * 1024) / 1e6, 1);
  return report;
}

function roundSummary(s: Summary): Summary {
  return { n: s.n, median: round(s.median, 3), min: round(s.min, 3), max: round(s.max, 3), q1: round(s.q1, 3), q3: round(s.q3, 3) };
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${round(bytes / 1024 ** 3, 2)} GiB` : `${round(bytes / 1024 ** 2, 2)} MiB`;
}

/** What the later targets need beyond the files and API modes. */
export interface ExtraMeasurements {
  registry?: RegistryReport;
  arrival?: ArrivalReport[];
  scale?: ScaleReport;
  sticks?: SticksReport;
}

const LAST_BYTE_LIMIT_S = 1.5;
const API_P99_LIMIT_MS = 50;

export interface RegistryReport {
  /** payload bytes each unchanged second publish uploaded */
  republishBytes: number[];
  note?: string;
}

/** The targets, judged on this run's numbers; N/A when the run did not measure them. */
export function judgeTargets(
  rows: RowReport[],
  comparisons: ComparisonReport[],
  api: ApiReport | undefined,
  sizeBytes: number,
  extra: ExtraMeasurements = {},
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
    ...registryTargets(ratio('publish', 'skopeo-copy'), ratio('pull-install', 'curl-blobs'), extra.registry, atMost, fmt),
    ...arrivalTargets(extra.arrival ?? []),
    ...scaleTargets(extra.scale),
    ...sticksTargets(extra.sticks, sizeText),
  ];
}

function registryTargets(
  publish: number | undefined,
  pull: number | undefined,
  registry: RegistryReport | undefined,
  atMost: (v: number | undefined, limit: number) => Verdict,
  fmt: (v: number | undefined, unit: string) => string,
): TargetReport[] {
  const bytes = registry?.republishBytes ?? [];
  const most = bytes.length ? Math.max(...bytes) : undefined;
  return [
    { id: 'publish-vs-skopeo', text: 'publish ≤ 1.2× skopeo copy of the same artifact', verdict: atMost(publish, 1.2), measured: fmt(publish, '×') },
    { id: 'pull-vs-curl', text: 'pull-and-install ≤ 1.2× curl of the blobs', verdict: atMost(pull, 1.2), measured: fmt(pull, '×') },
    {
      id: 'republish-uploads-nothing',
      text: 'a second publish of an unchanged bundle uploads 0 payload bytes',
      verdict: most === undefined ? 'N/A' : most === 0 ? 'PASS' : 'MISS',
      measured: most === undefined ? 'not measured' : `${most} bytes (largest of ${bytes.length} run(s))`,
    },
  ];
}

function arrivalTargets(arrival: ArrivalReport[]): TargetReport[] {
  const lastByte = [2, 8].map((gib): TargetReport => {
    const r = arrival.find((a) => a.size === gib * 1024 ** 3);
    const text = `last byte → installed ≤ ${LAST_BYTE_LIMIT_S} s, ${gib} GiB folder bundle arriving by rsync into a watched drop folder (median)`;
    if (!r) return { id: `last-byte-${gib}G`, text, verdict: 'N/A', measured: 'not measured' };
    const s = r.early.seconds;
    if (!s || r.early.failures.length > 0)
      return { id: `last-byte-${gib}G`, text, verdict: 'MISS', measured: `failed: ${r.early.failures[0] ?? 'no run finished'}` };
    return {
      id: `last-byte-${gib}G`,
      text,
      verdict: s.median <= LAST_BYTE_LIMIT_S ? 'PASS' : 'MISS',
      measured: `${s.median} s (${s.min}–${s.max} s over ${s.n}); copy then airlock install ${r.serial.seconds?.median ?? '-'} s`,
    };
  });
  const largest = [...arrival].sort((a, b) => b.size - a.size)[0];
  const rss = largest?.daemonPeakRssMB;
  const calls = arrival.reduce((n, a) => n + a.api.count, 0);
  const worstP99 = arrival.length ? Math.max(...arrival.map((a) => a.api.p99)) : undefined;
  const errors = arrival.reduce((n, a) => n + a.api.errors, 0);
  return [
    ...lastByte,
    {
      id: 'arrival-daemon-rss',
      text: `peak RSS of the daemon < ${RSS_LIMIT_MB} MB while a bundle arrives and installs (this run: ${largest ? sizeLabel(largest.size) : 'none'})`,
      verdict: rss === undefined ? 'N/A' : rss < RSS_LIMIT_MB ? 'PASS' : 'MISS',
      measured: rss === undefined ? 'not measured' : `${rss} MB`,
    },
    {
      id: 'arrival-api-p99',
      text: `status API p99 < ${API_P99_LIMIT_MS} ms throughout arrival and install`,
      verdict: worstP99 === undefined || calls === 0 ? 'N/A' : worstP99 < API_P99_LIMIT_MS && errors === 0 ? 'PASS' : 'MISS',
      measured: worstP99 === undefined ? 'not measured' : `p99 ${round(worstP99, 1)} ms (worst size) over ${calls} requests, ${errors} errors`,
    },
  ];
}

function scaleTargets(scale: ScaleReport | undefined): TargetReport[] {
  const ratio = (s: string, b: string) => scale?.comparisons.find((c) => c.subject === s && c.baseline === b)?.timeRatio;
  const verify = ratio('scale-verify-dir', 'scale-sha256sum');
  const speedup = verify === undefined ? undefined : round(1 / verify, 2);
  const install = ratio('scale-install-tar', 'scale-tar-x');
  const n = scale ? `${scale.files.toLocaleString('en-US')} files of ${scale.fileSize / 1024} KiB` : '100,000 small files';
  return [
    {
      id: 'scale-verify',
      text: `${n}: verify ≥ 2× the throughput of sha256sum -c`,
      verdict: speedup === undefined ? 'N/A' : speedup >= 2 ? 'PASS' : 'MISS',
      measured: speedup === undefined ? 'not measured' : `${speedup}×`,
    },
    {
      id: 'scale-install',
      text: `${n}: install from tar ≤ 1.5× tar -xf`,
      verdict: install === undefined ? 'N/A' : install <= 1.5 ? 'PASS' : 'MISS',
      measured: install === undefined ? 'not measured' : `${install}×`,
    },
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
