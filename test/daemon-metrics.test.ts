// The truth about each drop, in the API, `airlock status` and /metrics, from the real daemon: a copy of an
// installed bundle whose payload was tampered with is a `duplicate` (never `installed`, never "verified"), and
// the metrics after real installs, rejections and that duplicate are what Prometheus reads: promtool lints the
// exposition, and a real Prometheus server scrapes the daemon and answers queries with the expected values.
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { BundleRecord } from '../src/pipeline/types.js';
import { manifestFor, writeDirBundle, type SourceFile } from './helpers/bundle-builder.js';
import { makeKey, writeAllowedSigners, type TestKey } from './helpers/keys.js';
import { airlock } from './helpers/cli.js';
import { startTestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const MODEL = 'test/metrics-model';

const files: SourceFile[] = [
  { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') },
  { path: 'weights/model.safetensors', data: Buffer.alloc(64 * 1024, 7) },
];
const payloadBytes = files.reduce((n, f) => n + f.data!.length, 0);

async function flipByte(file: string): Promise<void> {
  const bytes = await fsp.readFile(file);
  bytes[3] = bytes[3]! ^ 0x20;
  await fsp.writeFile(file, bytes);
}

async function bundle(dir: string, key: TestKey, id: string, name = MODEL): Promise<string> {
  await writeDirBundle(dir, { files, manifest: manifestFor(files, { id, name, sequence: 1 }), signers: [key] });
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function missingTools(): string | undefined {
  const missing = [PROMTOOL, PROMETHEUS].filter((p) => !existsSync(p));
  return missing.length ? `${missing.join(' and ')} missing (Debian package prometheus)` : undefined;
}

const base = scratchDir(t);
const key = makeKey(path.join(base, 'keys'), 'release');
const stranger = makeKey(path.join(base, 'keys'), 'stranger');
const allowedSigners = writeAllowedSigners(path.join(base, 'allowed_signers'), [{ principals: 'release@airlock.test', key }]);
const d = await startTestDaemon(t, { dir: path.join(base, 'daemon'), config: { trust: { allowedSigners, threshold: 1 }, quietPeriodMs: 300 } });
t.teardown(() => d.stop());
const staging = path.join(base, 'staging');
const byLocation = (location: string) => (bs: BundleRecord[]) =>
  bs.find((b) => b.location === location && !['arriving', 'queued', 'verifying'].includes(b.state));

const good = path.join(d.drop, 'good');
const again = path.join(d.drop, 'good-again-tampered');
let installed: BundleRecord;
let duplicate: BundleRecord;

t.test('a tampered copy of an installed bundle is a duplicate: never installed, never verified', async (t) => {
  await fsp.cp(await bundle(path.join(staging, 'good'), key, 'metrics-1'), good, { recursive: true });
  installed = await d.waitFor(byLocation(good), { what: 'the good bundle' });
  t.equal(installed.state, 'installed');
  // The same signed manifest, one byte of the payload changed: the daemon never reads it, so it must not say "verified".
  const copy = path.join(staging, 'again');
  await fsp.cp(path.join(staging, 'good'), copy, { recursive: true });
  await flipByte(path.join(copy, 'payload', 'config.json'));
  await fsp.cp(copy, again, { recursive: true });
  duplicate = await d.waitFor(byLocation(again), { what: 'the tampered copy' });
  t.equal(duplicate.state, 'duplicate', 'its own state, not installed');
  t.match(duplicate.duplicateOf, { bundleId: 'metrics-1', recordId: installed.id, location: good });
  t.equal(duplicate.install, undefined, 'no install record');
  t.equal(duplicate.verification.bytesDone, 0, 'no payload byte read');
  t.match(duplicate.note, /duplicate of metrics-1, installed before from .*good.*payload was not read/);
  const audit = (await d.api<{ events: Array<{ event: string; recordId?: string }> }>('/v1/audit')).body.events.filter(
    (e) => e.recordId === duplicate.id,
  );
  t.same(
    audit.map((e) => e.event),
    ['duplicate', 'detected'],
    'audited as a duplicate, never accepted or installed',
  );
  const status = await airlock(['status', '--url', d.url]);
  t.equal(status.exitCode, 0, status.stderr);
  const line = status.stdout.split('\n').find((l) => l.startsWith(duplicate.id)) ?? '';
  t.match(line, /\bduplicate\b/, 'airlock status says duplicate');
  t.notMatch(line, /\binstalled\s+\d/, 'and not installed');
  const counts = (await d.api<{ bundles: Record<string, number> }>('/v1/status')).body.bundles;
  t.same(counts, { installed: 1, duplicate: 1 }, 'the status counts by state');
});

t.test('rejections by code', async (t) => {
  const tampered = path.join(staging, 'tampered');
  await bundle(tampered, key, 'metrics-bad-1', 'test/metrics-bad');
  await flipByte(path.join(tampered, 'payload', 'config.json'));
  await fsp.cp(tampered, path.join(d.drop, 'tampered'), { recursive: true });
  t.match(await d.waitFor(byLocation(path.join(d.drop, 'tampered'))), { state: 'rejected', error: { code: 'HASH_MISMATCH' } });
  await fsp.cp(await bundle(path.join(staging, 'stranger'), stranger, 'metrics-stranger-1', 'test/metrics-stranger'), path.join(d.drop, 'stranger'), {
    recursive: true,
  });
  t.match(await d.waitFor(byLocation(path.join(d.drop, 'stranger'))), { state: 'rejected', error: { code: 'UNTRUSTED_SIGNER' } });
});

t.test('promtool accepts /metrics, and no gauge is named like a counter', async (t) => {
  const missing = missingTools();
  if (missing) {
    if (process.env.CI === 'true') t.fail(`the metrics test needs promtool under CI: ${missing}`);
    else t.plan(0, missing);
    return;
  }
  const text = (await d.api<string>('/metrics')).body;
  const lint = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
  t.equal(lint.code, 0, `promtool check metrics: ${lint.out}`);
  t.equal(lint.out.trim(), '', 'no lint findings');
  // OpenMetrics names a counter's family without _total, and a histogram owns _bucket, _sum and _count.
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const owned = new Map<string, string>();
  for (const [name, type] of types) {
    const family = type === 'counter' ? name.replace(/_total$/, '') : name;
    const names = type === 'histogram' ? [family, `${family}_bucket`, `${family}_sum`, `${family}_count`] : [family, name];
    for (const n of names) {
      t.notOk(owned.has(n) && owned.get(n) !== name, `${n} belongs to ${name} only (also ${owned.get(n)})`);
      owned.set(n, name);
    }
    if (type === 'counter') t.match(name, /_total$/, `counter ${name} ends in _total`);
    else t.notMatch(name, /_total$/, `${type} ${name} does not`);
  }
});

t.test('a real Prometheus scrapes the daemon and reads the values', async (t) => {
  const missing = missingTools();
  if (missing) {
    if (process.env.CI === 'true') t.fail(`the metrics test needs Prometheus under CI: ${missing}`);
    else t.plan(0, missing);
    return;
  }
  // One event-stream client, so the gauge has something to count.
  const sse = http.get(`${d.url}/v1/events`);
  sse.on('error', () => undefined);
  t.teardown(() => sse.destroy());
  const dir = path.join(base, 'prometheus');
  await fsp.mkdir(dir, { recursive: true });
  const target = new URL(d.url).host;
  await fsp.writeFile(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: airlock\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const port = await freePort();
  const server = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let serverLog = '';
  server.stderr.setEncoding('utf8').on('data', (c: string) => (serverLog += c));
  t.teardown(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });
  const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?${new URLSearchParams({ query: q }).toString()}`);
    if (!res.ok) throw new Error(`${q}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  };
  const value = async (q: string) => Number((await query(q))[0]?.value[1]);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const up = await value('up{job="airlock"}').catch(() => NaN);
    const clients = await value('airlock_event_clients').catch(() => NaN);
    if (up === 1 && clients === 1) break;
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`Prometheus did not scrape the daemon (up ${up}); log: ${serverLog}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  t.pass('Prometheus scraped /metrics (up 1): its parser took every line');
  t.equal(await value('airlock_bundles_finished_total{outcome="installed"}'), 1);
  t.equal(await value('airlock_bundles_finished_total{outcome="duplicate"}'), 1, 'the tampered copy counted as a duplicate');
  t.equal(await value('airlock_bundles_finished_total{outcome="rejected"}'), 2);
  t.equal(await value('airlock_rejections_total{code="HASH_MISMATCH"}'), 1);
  t.equal(await value('airlock_rejections_total{code="UNTRUSTED_SIGNER"}'), 1);
  t.equal(await value('sum(airlock_rejections_total)'), 2);
  t.equal(await value('airlock_verified_bytes_total'), payloadBytes, 'the installed payload, once: the duplicate read nothing');
  t.equal(await value('airlock_verified_files_total'), files.length);
  t.equal(await value('airlock_verification_duration_seconds_count{outcome="installed"}'), 1);
  t.equal(await value('airlock_verification_duration_seconds_count{outcome="rejected"}'), 2);
  t.ok((await value('histogram_quantile(0.5, airlock_verification_duration_seconds_bucket{outcome="installed"})')) > 0, 'the histogram is usable');
  const installedAt = Date.parse(
    (await d.api<{ models: Array<{ name: string; current?: { installedAt: string } }> }>('/v1/deployments')).body.models.find(
      (m) => m.name === MODEL,
    )!.current!.installedAt,
  );
  t.equal(await value(`airlock_last_install_timestamp_seconds{model="${MODEL}"}`), Math.floor(installedAt / 1000), 'last install time per model');
  t.ok((await value('airlock_store_free_bytes')) > 0, 'store free bytes');
  t.equal(await value('airlock_event_clients'), 1, 'one SSE client');
  t.equal(await value('airlock_bundle_records{state="duplicate"}'), 1);
  t.equal(await value('airlock_bundle_records{state="rejected"}'), 2);
  t.equal(await value('airlock_current_sequence{model="test/metrics-model",channel="stable"}'), 1);
});
