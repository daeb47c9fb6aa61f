// The benchmark harness end to end on a tiny tree: it runs every command and every baseline,
// starts the real daemon for the API phase, and writes its numbers as JSON. No timing assertions.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CASES } from '../bench/cases.js';
import { REGISTRY_CASES } from '../bench/registry-mode.js';
import { registryToolsMissing } from '../bench/registry-server.js';
import { HAVE_FINCORE } from '../bench/page-cache.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';

const run = promisify(execFile);
const BENCH = path.join(PACKAGE_ROOT, 'dist', 'bench', 'bench.js');

interface Row {
  id: string;
  kind: string;
  ok: boolean;
  error?: string;
  runsMs: number[];
  seconds?: { median: number; min: number; max: number };
  mbPerSec?: number;
  peakRssMB?: number;
  inputCachedMinPct?: number;
}

interface Doc {
  schema: string;
  options: { size: number; runs: number };
  data: { files: number; payloadBytes: number };
  cache: { state: string; note: string };
  rows: Row[];
  comparisons: Array<{ subject: string; baseline: string; timeRatio?: number }>;
  api?: { phases: Array<{ label: string; errors: number; latencyMs: { count: number; p50: number; p99: number } }>; daemonPeakRssMB?: number };
  targets: Array<{ id: string; verdict: string; measured: string }>;
  arrival?: Array<{
    size: number;
    early: { seconds?: { median: number }; allPrestaged: boolean };
    after: { seconds?: { median: number } };
    serial: { seconds?: { median: number } };
    api: { count: number };
  }>;
  scale?: { rows: Row[] };
  sticks?: { state: string; lastStickToInstalledSeconds?: number; daemonPeakRssMB?: number };
}

t.test('npm run bench -- --size 8M --runs 1 measures every command and writes the table as JSON', async (t) => {
  const dir = t.testdir();
  const json = path.join(dir, 'bench.json');
  const small = ['--arrival-sizes', '8M', '--arrival-runs', '1', '--arrival-rate', '20M', '--scale-files', '500', '--stick-gap', '1'];
  const { stdout } = await run(
    process.execPath,
    [BENCH, '--size', '8M', '--runs', '1', '--json', json, '--work-dir', dir, '--api-requests', '100', ...small],
    {
      cwd: PACKAGE_ROOT,
      env: childEnv(),
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const doc = JSON.parse(await fsp.readFile(json, 'utf8')) as Doc;
  t.equal(doc.schema, 'airlock.bench/v1');
  t.equal(doc.options.size, 8 * 1024 * 1024);
  t.equal(doc.data.payloadBytes, 8 * 1024 * 1024, 'the synthetic tree has exactly the asked size');
  t.ok(doc.data.files > 300, 'a few hundred small files beside the shards');
  // Measured, not assumed: on a busy machine some input may have left the page cache between runs.
  t.match(doc.cache.state, /^(warm|partly warm)$/, `page cache: ${doc.cache.note}`);

  const registry = registryToolsMissing() === undefined;
  t.same(
    doc.rows.map((r) => r.id),
    [...CASES.map((c) => c.id), ...(registry ? REGISTRY_CASES.map((c) => c.id) : [])],
    'one row per command, airlock and baselines (and the registry mode where docker-registry, skopeo and curl are installed)',
  );
  for (const id of ['sha256sum', 'tar-x', 'tar-x-sha256sum', 'cat'])
    t.ok(
      doc.rows.some((r) => r.id === id && r.kind === 'baseline'),
      `baseline ${id} present`,
    );
  for (const r of doc.rows) {
    t.ok(r.ok, `${r.id} ran${r.error ? `: ${r.error}` : ''}`);
    t.equal(r.runsMs.length, 1, `${r.id}: one run`);
    t.ok(r.seconds && r.seconds.min <= r.seconds.median && r.seconds.median <= r.seconds.max, `${r.id}: median within min–max`);
    t.type(r.mbPerSec, 'number');
    t.type(r.peakRssMB, 'number', `${r.id}: peak RSS measured`);
    if (HAVE_FINCORE) t.type(r.inputCachedMinPct, 'number', `${r.id}: page-cache residency of its input measured`);
  }
  for (const c of doc.comparisons) t.type(c.timeRatio, 'number', `${c.subject} vs ${c.baseline} has a ratio`);

  const phases = doc.api?.phases ?? [];
  t.same(
    phases.map((p) => p.label),
    ['idle', 'during-install'],
  );
  t.equal(phases[0]?.latencyMs.count, 100, 'idle: the bounded number of requests');
  for (const p of phases) t.equal(p.errors, 0, `${p.label}: every request answered 200`);
  t.type(doc.api?.daemonPeakRssMB, 'number');

  t.same(
    doc.targets.map((x) => x.id),
    [
      'install-vs-tar',
      'install-vs-tar-sha256sum',
      'verify-throughput',
      'peak-rss',
      'daemon-peak-rss',
      'api-p99',
      'publish-vs-skopeo',
      'pull-vs-curl',
      'republish-uploads-nothing',
      'last-byte-2G',
      'last-byte-8G',
      'arrival-daemon-rss',
      'arrival-api-p99',
      'scale-verify',
      'scale-install',
      'sticks-last-part',
      'sticks-daemon-rss',
      'sticks-api-p99',
    ],
  );
  if (registry)
    t.equal(doc.targets.find((x) => x.id === 'republish-uploads-nothing')?.verdict, 'PASS', 'an unchanged bundle published again uploads nothing');
  const [arrival] = doc.arrival ?? [];
  t.equal(arrival?.size, 8 * 1024 * 1024, 'the 8M bundle arrived');
  t.type(arrival?.early.seconds?.median, 'number', 'last byte → installed measured');
  t.equal(arrival?.early.allPrestaged, true, 'every byte verified while it arrived');
  t.type(arrival?.serial.seconds?.median, 'number', 'beside copy, then airlock install');
  t.type(arrival?.after.seconds?.median, 'number', 'and the daemon verifying after arrival');
  t.ok((arrival?.api.count ?? 0) > 0, 'the status API was asked throughout');
  t.same(
    doc.scale?.rows.map((r) => [r.id, r.ok]),
    ['verify-dir', 'sha256sum', 'install-tar', 'install-dir', 'tar-x', 'tar-x-sync'].map((id) => [`scale-${id}`, true]),
    'the scale rows ran',
  );
  t.match(stdout, /last byte → installed/);
  t.match(stdout, /^scale: 500 files of 4 KiB/m);
  t.match(doc.sticks, { state: 'installed', stickA: { parts: Number }, stickB: { parts: Number } }, 'the split bundle installed from two sticks');
  t.type(doc.sticks?.lastStickToInstalledSeconds, 'number');
  t.type(doc.sticks?.daemonPeakRssMB, 'number');
  t.match(stdout, /split parts on two sticks/);
  for (const x of doc.targets) t.match(x.verdict, /^(PASS|MISS|N\/A)$/);
  t.match(stdout, /page cache: (warm|partly warm)/);
  t.match(stdout, /^targets:$/m);
  t.match(stdout, /sha256sum -c/);

  const left = (await fsp.readdir(dir)).filter((n) => n.startsWith('airlock-bench-'));
  t.same(left, [], 'the work folder is removed afterwards');
});

t.test('a bad option is a usage error (exit 2) before anything is written', async (t) => {
  const dir = t.testdir();
  const err = await run(process.execPath, [BENCH, '--size', 'lots', '--work-dir', dir], { env: childEnv() }).then(
    () => undefined,
    (e: { code?: number }) => e,
  );
  t.equal(err?.code, 2);
  t.same(await fsp.readdir(dir), []);
});
