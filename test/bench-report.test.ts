// The benchmark's pure parts: the source plan, size parsing, statistics and the target verdicts.
import t from 'tap';
import { parseBenchArgs, parseSize, BenchUsageError } from '../bench/options.js';
import { buildArrivalReport, buildComparisons, buildRows, buildScaleReport, judgeTargets, sticksTargets } from '../bench/report.js';
import { formatTable } from '../bench/format-table.js';
import type { SticksReport } from '../bench/sticks-mode.js';
import { planSource } from '../bench/source-plan.js';
import { cacheStatement } from '../bench/cache-state.js';
import { latencies, summarize } from '../bench/stats.js';
import type { CaseRuns } from '../bench/files-mode.js';

t.test('the plan fills the asked size with shards, two engines and a few hundred small files', async (t) => {
  for (const size of [8 * 1024 ** 2, 2 * 1024 ** 3, 8 * 1024 ** 3]) {
    const plan = planSource(size);
    t.equal(
      plan.reduce((n, f) => n + f.size, 0),
      size,
      `${size}: sizes add up`,
    );
    t.equal(new Set(plan.map((f) => f.path)).size, plan.length, 'paths are unique');
    t.equal(plan.filter((f) => f.path.endsWith('.engine')).length, 2);
    t.ok(plan.filter((f) => f.size <= 64 * 1024).length >= 290, 'a few hundred small files');
    t.ok(plan.every((f) => f.size > 0));
  }
  t.ok(
    planSource(8 * 1024 ** 3).filter((f) => f.path.endsWith('.safetensors')).length >
      planSource(2 * 1024 ** 3).filter((f) => f.path.endsWith('.safetensors')).length,
    'more shards for more bytes',
  );
});

t.test('sizes and options', async (t) => {
  t.equal(parseSize('2G'), 2 * 1024 ** 3);
  t.equal(parseSize('8M'), 8 * 1024 ** 2);
  t.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  t.throws(() => parseSize('0'), BenchUsageError);
  t.throws(() => parseSize('lots'), BenchUsageError);
  const d = parseBenchArgs([]);
  t.match(d, { size: 2 * 1024 ** 3, runs: 5, mode: 'all', cold: false, apiRequests: 2000, apiConcurrency: 4, stickGap: 60 });
  t.match(parseBenchArgs(['--mode', 'sticks', '--stick-gap', '0']), { mode: 'sticks', stickGap: 0 });
  t.throws(() => parseBenchArgs(['--stick-gap', '-1']), BenchUsageError);
  t.throws(() => parseBenchArgs(['--mode', 'fast']), BenchUsageError);
  t.throws(() => parseBenchArgs(['--runs', '0']), BenchUsageError);
  t.throws(() => parseBenchArgs(['--bogus']), BenchUsageError);
  t.match(d, { arrivalSizes: [2 * 1024 ** 3, 8 * 1024 ** 3], arrivalRuns: 3, arrivalRate: 200e6, scaleFiles: 100_000 });
  t.match(parseBenchArgs(['--mode', 'arrival', '--arrival-sizes', '64M,1G', '--arrival-rate', '50M']), {
    mode: 'arrival',
    arrivalSizes: [64 * 1024 ** 2, 1024 ** 3],
    arrivalRate: 50e6,
  });
  t.throws(() => parseBenchArgs(['--arrival-rate', 'fast']), BenchUsageError);
  t.throws(() => parseBenchArgs(['--arrival-sizes', '2G,']), BenchUsageError);
});

t.test('order statistics', async (t) => {
  t.match(summarize([5, 1, 3, 2, 4]), { n: 5, median: 3, min: 1, max: 5, q1: 2, q3: 4 });
  t.equal(summarize([1, 2]).median, 1.5);
  const l = latencies(Array.from({ length: 100 }, (_, i) => i + 1));
  t.equal(l.max, 100);
  t.ok(l.p99 > 98 && l.p99 <= 100);
});

const runsOf = (id: string, kind: 'airlock' | 'baseline', seconds: number[], rssKiB = 50_000): CaseRuns => ({
  id,
  label: id,
  kind,
  runs: seconds.map((s) => ({ ms: s * 1000, exitCode: 0, peakRssKiB: rssKiB, inputCached: 1 })),
});

t.test('targets: PASS and MISS follow the medians', async (t) => {
  const results = [
    runsOf('verify-dir', 'airlock', [1, 1, 9]),
    runsOf('install-tar', 'airlock', [2.6, 2.6, 2.6], 200_000),
    runsOf('sha256sum', 'baseline', [4, 4, 4]),
    runsOf('tar-x', 'baseline', [2, 2, 2]),
    runsOf('tar-x-sha256sum', 'baseline', [6, 6, 6]),
    runsOf('cat', 'baseline', [0.5, 0.5, 0.5]),
  ];
  const rows = buildRows(results, 2e9);
  t.equal(rows[0]?.seconds?.median, 1, 'the median ignores one slow run');
  t.equal(rows[0]?.mbPerSec, 2000);
  t.equal(rows[0]?.overFloor, 2);
  const comparisons = buildComparisons(rows);
  const api = {
    phases: [{ label: 'during-install' as const, errors: 0, latencyMs: { count: 10, p50: 1, p90: 2, p99: 60, max: 70 } }],
    daemonPeakRssMB: 100,
  };
  const verdicts = Object.fromEntries(judgeTargets(rows, comparisons, api, 2e9).map((x) => [x.id, x.verdict]));
  t.same(verdicts, {
    'install-vs-tar': 'PASS', // 2.6 / 2 = 1.3
    'install-vs-tar-sha256sum': 'PASS', // 2.6 / 6 = 0.43
    'verify-throughput': 'PASS', // 4 / 1 = 4×
    'peak-rss': 'MISS', // 200 000 KiB = 204.8 MB
    'daemon-peak-rss': 'PASS',
    'api-p99': 'MISS',
    'publish-vs-skopeo': 'N/A',
    'pull-vs-curl': 'N/A',
    'republish-uploads-nothing': 'N/A',
    'last-byte-2G': 'N/A',
    'last-byte-8G': 'N/A',
    'arrival-daemon-rss': 'N/A',
    'arrival-api-p99': 'N/A',
    'scale-verify': 'N/A',
    'scale-install': 'N/A',
    'sticks-last-part': 'N/A',
    'sticks-daemon-rss': 'N/A',
    'sticks-api-p99': 'N/A',
  });
  const reg = buildRows(
    [
      runsOf('publish', 'airlock', [3]),
      runsOf('skopeo-copy', 'baseline', [2]),
      runsOf('pull-install', 'airlock', [1.2]),
      runsOf('curl-blobs', 'baseline', [1]),
    ],
    2e9,
  );
  const regVerdicts = Object.fromEntries(
    judgeTargets(reg, buildComparisons(reg), undefined, 2e9, { registry: { republishBytes: [0, 5] } }).map((x) => [x.id, x.verdict]),
  );
  t.match(regVerdicts, { 'publish-vs-skopeo': 'MISS', 'pull-vs-curl': 'PASS', 'republish-uploads-nothing': 'MISS' });
  t.same(
    buildComparisons(reg).map((c) => `${c.subject}/${c.baseline}`),
    ['publish/skopeo-copy', 'pull-install/curl-blobs'],
    'only the pairs whose both commands ran',
  );
  const none = Object.fromEntries(judgeTargets([], [], undefined, 2e9).map((x) => [x.id, x.verdict]));
  t.ok(
    Object.values(none).every((v) => v === 'N/A'),
    'nothing measured, nothing judged',
  );
});

t.test('last byte → installed: medians over the runs, beside the serial install; RSS and p99 judged throughout', async (t) => {
  const GiB = 1024 ** 3;
  const arrivalRun = (ms: number, prestaged = 2 * GiB) => ({
    lastByteToInstalledMs: ms,
    arrivalMs: 10_000,
    state: 'installed',
    bytesPrestaged: prestaged,
    daemonPeakRssKiB: 120_000,
    apiLatenciesMs: [1, 2, 3, 70],
    apiErrors: 0,
  });
  const two = buildArrivalReport({
    size: 2 * GiB,
    files: 310,
    early: [arrivalRun(900), arrivalRun(1200), arrivalRun(5000)],
    after: [arrivalRun(9000, 0)],
    serial: [{ copyMs: 3000, installMs: 2500, exitCode: 0, peakRssKiB: 100_000 }],
  });
  t.equal(two.early.seconds?.median, 1.2, 'one slow run does not move the median');
  t.equal(two.early.allPrestaged, true);
  t.equal(two.after.seconds?.median, 9);
  t.equal(two.serial.seconds?.median, 2.5);
  t.equal(two.rateMBs, Math.round((2 * GiB) / 1e6 / 10));
  t.equal(two.daemonPeakRssMB, 122.9);
  t.equal(two.api.count, 12);
  const eight = buildArrivalReport({
    size: 8 * GiB,
    files: 330,
    early: [{ arrivalMs: 40_000, state: 'rejected', error: 'HASH_MISMATCH x', apiLatenciesMs: [], apiErrors: 0 }],
    after: [],
    serial: [],
  });
  const scale = buildScaleReport(
    [
      runsOf('scale-verify-dir', 'airlock', [1, 1, 1]),
      runsOf('scale-sha256sum', 'baseline', [3, 3, 3]),
      runsOf('scale-install-tar', 'airlock', [4, 4, 4]),
      runsOf('scale-tar-x', 'baseline', [2, 2, 2]),
    ],
    100_000,
    4096,
  );
  const verdicts = Object.fromEntries(judgeTargets([], [], undefined, 2e9, { arrival: [two, eight], scale }).map((x) => [x.id, x]));
  t.equal(verdicts['last-byte-2G']?.verdict, 'PASS');
  t.match(verdicts['last-byte-2G']?.measured, /^1\.2 s \(0\.9–5 s over 3\); copy then airlock install 2\.5 s/);
  t.equal(verdicts['last-byte-8G']?.verdict, 'MISS', 'a run that did not install misses');
  t.match(verdicts['last-byte-8G']?.measured, /HASH_MISMATCH/);
  t.equal(verdicts['arrival-daemon-rss']?.verdict, 'N/A', 'judged at the largest size, which did not measure it');
  t.equal(verdicts['arrival-api-p99']?.verdict, 'MISS', 'p99 of 70 ms');
  t.equal(verdicts['scale-verify']?.verdict, 'PASS', '3×');
  t.equal(verdicts['scale-install']?.verdict, 'MISS', '2×');
});

t.test('split parts on two sticks: the second stick to installed, the daemon RSS and the API, against their targets', async (t) => {
  const sticks = (state: string, seconds: number, rss: number, p99: number): SticksReport => ({
    parts: 5,
    partBytes: 512 * 1024 ** 2,
    stickA: { parts: 3, bytes: 3 * 512 * 1024 ** 2, seconds: 20 },
    stickB: { parts: 2, bytes: 600 * 1024 ** 2 },
    gapSeconds: 60,
    state,
    lastStickToInstalledSeconds: seconds,
    lastPartSpooledToInstalledSeconds: 0.4,
    lastStickMBps: 420,
    daemonPeakRssMB: rss,
    api: { latencyMs: { count: 100, p50: 1, p90: 2, p99: p99, max: p99 + 1 }, errors: 0 },
  });
  const verdicts = (s: SticksReport) => Object.fromEntries(sticksTargets(s, '2 GiB').map((x) => [x.id, x.verdict]));
  t.same(verdicts(sticks('installed', 1.4, 120, 20)), { 'sticks-last-part': 'PASS', 'sticks-daemon-rss': 'PASS', 'sticks-api-p99': 'PASS' });
  t.same(verdicts(sticks('installed', 1.6, 151, 60)), { 'sticks-last-part': 'MISS', 'sticks-daemon-rss': 'MISS', 'sticks-api-p99': 'MISS' });
  t.equal(verdicts(sticks('rejected', 0.2, 100, 1))['sticks-last-part'], 'MISS', 'a bundle that did not install misses, however fast');
  t.match(
    sticksTargets(sticks('installed', 1.4, 120, 20), '2 GiB')[0]?.measured,
    /^1\.4 s for 2 part\(s\), 600 MiB \(420 MB\/s\); last part spooled → installed 0\.4 s$/,
  );
  const table = formatTable({ header: [], rows: [], comparisons: [], sticks: sticks('installed', 1.4, 120, 20), targets: [] });
  t.match(table, /split parts on two sticks \(5 parts of 512 MiB/);
  t.match(table, /stick B: 2 part\(s\), 600 MiB: appears → installed in 1\.4 s/);
});

t.test('a failed run marks its row, and its ratios go unmeasured', async (t) => {
  const failed: CaseRuns = {
    id: 'install-tar',
    label: 'install-tar',
    kind: 'airlock',
    runs: [{ ms: 10, exitCode: 1, errorTail: 'airlock: HASH_MISMATCH: x' }],
  };
  const rows = buildRows([failed, runsOf('tar-x', 'baseline', [1])], 1e6);
  t.equal(rows[0]?.ok, false);
  t.match(rows[0]?.error, /HASH_MISMATCH/);
  t.equal(buildComparisons(rows).find((c) => c.subject === 'install-tar' && c.baseline === 'tar-x')?.timeRatio, undefined);
});

t.test('the page cache is called warm only when fincore saw (nearly) all input resident', async (t) => {
  const GiB = 1024 ** 3;
  t.equal(cacheStatement(false, 2 * GiB, 24 * GiB, { minPct: 99.8, medianPct: 100 }).state, 'warm');
  t.equal(cacheStatement(false, 2 * GiB, 24 * GiB, { minPct: 60, medianPct: 100 }).state, 'partly warm', 'one half-cold run is enough to say so');
  t.equal(cacheStatement(true, 2 * GiB, 24 * GiB, undefined).state, 'cold');
  t.equal(cacheStatement(false, 2 * GiB, 24 * GiB, undefined).state, 'warm', 'without fincore: estimated from the working set');
  t.equal(cacheStatement(false, 8 * GiB, 24 * GiB, undefined).state, 'partly warm');
  t.match(cacheStatement(false, 2 * GiB, 24 * GiB, undefined).note, /not measured/);
});
