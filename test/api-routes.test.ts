// The REST API over real HTTP, on a daemon started in-process with a test Installer (real watcher, real folders).
import { statSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { apiRequest } from '../src/api/client.js';
import { configFromDocument } from '../src/config/load-config.js';
import { startDaemon, type RunningDaemon } from '../src/daemon/daemon.js';
import { createLoggers } from '../src/daemon/logger.js';
import { AirlockError } from '../src/errors.js';
import type { DeploymentInfo, ModelDeployments } from '../src/pipeline/deployment-types.js';
import type { Deployer, DeploymentStore } from '../src/pipeline/ports.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { schemaProblems } from '../src/util/schemas.js';
import { FakeInstaller, eventually, testConfig } from './helpers/daemon.js';
import { scratchDir, type ScratchTest } from './helpers/scratch.js';

function deployment(name: string, bundleId: string, sequence: number, current: boolean): DeploymentInfo {
  return {
    bundleId,
    name,
    channel: 'stable',
    sequence,
    manifestDigest: 'a'.repeat(64),
    kind: 'model-dir',
    path: `/store/deployments/${bundleId}`,
    manifestPath: `/store/content/aa/${'a'.repeat(64)}`,
    installedAt: '2026-01-01T00:00:00.000Z',
    imageRefs: [],
    imageArchives: [],
    hints: { profiles: [] },
    current,
    files: 3,
    symlinks: 0,
    bytes: 100,
    linkMode: 'hardlink',
  };
}

class FakeDeployments implements DeploymentStore {
  models: ModelDeployments[] = [
    { name: 'meta/llama', current: deployment('meta/llama', 'llama-2', 2, true), kept: [deployment('meta/llama', 'llama-1', 1, false)] },
  ];
  rollbacks: string[] = [];
  async list() {
    return this.models;
  }
  async rollback(name: string, to?: string) {
    const m = this.models.find((x) => x.name === name);
    if (!m || !m.kept[0]) throw new AirlockError('NO_SUCH_DEPLOYMENT', `no kept deployment of ${name}`, { path: name });
    this.rollbacks.push(`${name}${to ? `@${to}` : ''}`);
    return { ...m.kept[0], current: true };
  }
}

interface Harness {
  daemon: RunningDaemon;
  installer: FakeInstaller;
  deployments: FakeDeployments;
  url: string;
  token: string;
  drop: string;
  logs: string[];
}

async function start(t: Tap, extra: Record<string, unknown> = {}, deployer?: Deployer, mediaRecheckMs?: number): Promise<Harness> {
  const dir = scratchDir(t);
  const doc = testConfig(dir, extra);
  const loaded = { config: configFromDocument(doc, dir, 'test'), source: 'test', demoTrust: true };
  const out = new PassThrough();
  const logs: string[] = [];
  out.setEncoding('utf8').on('data', (c: string) => logs.push(...c.split('\n').filter(Boolean)));
  const installer = new FakeInstaller();
  const deployments = new FakeDeployments();
  const daemon = await startDaemon(loaded, {
    installer,
    deployments,
    ...(deployer ? { deployer } : {}),
    loggers: createLoggers('info', out),
    version: '9.9.9-test',
    keepAliveMs: 200,
    ...(mediaRecheckMs ? { mediaRecheckMs } : {}),
  });
  t.teardown(() => daemon.stop());
  const token = readFileSync(loaded.config.api.tokenFile, 'utf8').trim();
  return { daemon, installer, deployments, url: daemon.url, token, drop: loaded.config.dropFolders[0]!, logs };
}

type Tap = ScratchTest;

function dropBundle(drop: string, name: string): string {
  const dir = path.join(drop, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'airlock.json'), '{}');
  return dir;
}

async function bundles(url: string): Promise<BundleRecord[]> {
  return (await apiRequest<{ bundles: BundleRecord[] }>(url, '/v1/bundles')).body.bundles;
}

t.test('read routes answer with documents matching their schemas', async (t) => {
  const h = await start(t);
  const health = await apiRequest(h.url, '/healthz');
  t.same([health.status, health.body], [200, { status: 'ok' }]);

  dropBundle(h.drop, 'llama');
  await eventually(async () => (await bundles(h.url)).some((b) => b.state === 'installed'), 'installed');

  const status = await apiRequest<Record<string, unknown>>(h.url, '/v1/status');
  t.equal(status.status, 200);
  t.same(schemaProblems('api', {}), []);
  t.match(status.body, {
    version: '9.9.9-test',
    config: { demoTrust: true, runtime: 'none' },
    watched: [{ path: h.drop, kind: 'drop', watching: true }],
    queue: { queued: [] },
    bundles: { installed: 1 },
    models: [{ name: 'meta/llama', current: { bundleId: 'llama-2' }, kept: [{ bundleId: 'llama-1' }] }],
  });

  const list = await bundles(h.url);
  t.equal(list.length, 1);
  const b = list[0]!;
  t.match(b, {
    name: 'test/llama',
    channel: 'stable',
    sequence: 1,
    state: 'installed',
    manifestDigest: /^[0-9a-f]{64}$/,
    location: path.join(h.drop, 'llama'),
  });
  t.match(b.arrival, { bytesPresent: 0 });
  t.match(b.verification, { bytesDone: 1000, bytesTotal: 1000 });

  const detail = await apiRequest<{ bundle: BundleRecord; audit: Array<{ event: string }> }>(h.url, `/v1/bundles/${b.id}`);
  t.equal(detail.status, 200);
  t.match(detail.body.bundle.trust, { satisfied: true, signers: [{ principals: ['demo@airlock.invalid'], fingerprint: 'SHA256:fake' }] });
  t.same(
    detail.body.audit.map((e) => e.event),
    ['installed', 'accepted', 'detected'],
    'its audit events, newest first',
  );

  const audit = await apiRequest<{ events: Array<{ event: string }> }>(h.url, '/v1/audit?limit=2');
  t.same(
    audit.body.events.map((e) => e.event),
    ['installed', 'accepted'],
  );
  const deployments = await apiRequest<{ models: unknown[] }>(h.url, '/v1/deployments');
  t.equal(deployments.status, 200);
  t.equal(deployments.body.models.length, 1);
});

t.test('bad requests are 400 BAD_REQUEST, unknown ids and routes 404 NOT_FOUND', async (t) => {
  const h = await start(t);
  for (const [route, status, code] of [
    ['/v1/bundles/nope-12345678', 404, 'NOT_FOUND'],
    ['/v1/bundles/..%2Fetc', 400, 'BAD_REQUEST'],
    ['/v1/audit?limit=abc', 400, 'BAD_REQUEST'],
    ['/v1/audit?limit=0', 400, 'BAD_REQUEST'],
    ['/v1/audit?colour=red', 400, 'BAD_REQUEST'],
    ['/v1/nothing-here', 404, 'NOT_FOUND'],
  ] as const) {
    const r = await apiRequest<{ code: string; message: string }>(h.url, route);
    t.equal(r.status, status, route);
    t.equal(r.body.code, code, route);
    t.type(r.body.message, 'string');
  }
  const noRetry = await apiRequest<{ code: string }>(h.url, '/v1/bundles/nope-12345678/retry', { method: 'POST', token: h.token });
  t.same([noRetry.status, noRetry.body.code], [404, 'NOT_FOUND']);
  const junk = await apiRequest<{ code: string }>(h.url, '/v1/deployments/meta%2Fllama/rollback', {
    method: 'POST',
    token: h.token,
    body: { to: 5 },
  });
  t.same([junk.status, junk.body.code], [400, 'BAD_REQUEST']);
});

t.test('mutating routes need the bearer token: 401 without it or with a wrong one, and nothing changes', async (t) => {
  const h = await start(t);
  t.match(h.token, /^[0-9a-f]{64}$/, '32 random bytes as hex');
  const tokenFile = path.join(path.dirname(h.drop), 'api-token');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'token file is 0600');
  h.installer.outcomeFor = () => new AirlockError('UNTRUSTED_SIGNER', 'unknown key');
  dropBundle(h.drop, 'rej');
  await eventually(async () => (await bundles(h.url)).some((b) => b.state === 'rejected'), 'rejected');
  const id = (await bundles(h.url))[0]!.id;
  h.installer.outcomeFor = () => 'install';

  for (const token of [undefined, 'wrong', h.token.slice(0, -1) + (h.token.endsWith('0') ? '1' : '0')]) {
    const retry = await apiRequest<{ code: string }>(h.url, `/v1/bundles/${id}/retry`, { method: 'POST', ...(token ? { token } : {}) });
    t.same([retry.status, retry.body.code], [401, 'UNAUTHORIZED']);
    const rb = await apiRequest<{ code: string }>(h.url, '/v1/deployments/meta%2Fllama/rollback', { method: 'POST', ...(token ? { token } : {}) });
    t.same([rb.status, rb.body.code], [401, 'UNAUTHORIZED']);
  }
  // Even a request the route would reject as malformed is refused for the token first.
  const unauthBad = await apiRequest<{ code: string }>(h.url, '/v1/bundles/..bad/retry', { method: 'POST' });
  t.equal(unauthBad.status, 401);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(h.installer.installs.length, 1, 'no retry happened');
  t.same(h.deployments.rollbacks, [], 'no rollback happened');
  t.equal((await bundles(h.url))[0]!.state, 'rejected');
  t.notOk(
    h.logs.some((l) => l.includes(h.token)),
    'the token never appears in the logs',
  );

  const ok = await apiRequest<{ bundle: BundleRecord }>(h.url, `/v1/bundles/${id}/retry`, { method: 'POST', token: h.token });
  t.equal(ok.status, 202);
  t.equal(ok.body.bundle.id, id);
  await eventually(async () => (await bundles(h.url))[0]!.state === 'installed', 'installed after retry');

  const rb = await apiRequest<{ deployment: DeploymentInfo }>(h.url, '/v1/deployments/meta%2Fllama/rollback', {
    method: 'POST',
    token: h.token,
    body: { to: 'llama-1' },
  });
  t.equal(rb.status, 200);
  t.equal(rb.body.deployment.bundleId, 'llama-1');
  t.same(h.deployments.rollbacks, ['meta/llama@llama-1']);
  const audit = await apiRequest<{ events: Array<{ event: string; actor?: string }> }>(h.url, '/v1/audit');
  t.match(audit.body.events[0], { event: 'rolled-back', actor: 'api' });
  const none = await apiRequest<{ code: string }>(h.url, '/v1/deployments/other/rollback', { method: 'POST', token: h.token });
  t.same([none.status, none.body.code], [404, 'NO_SUCH_DEPLOYMENT']);
});

t.test('the token file is reused across starts', async (t) => {
  const dir = scratchDir(t);
  writeFileSync(path.join(dir, 'api-token'), 'f'.repeat(64) + '\n', { mode: 0o600 });
  const loaded = { config: configFromDocument(testConfig(dir), dir, 'test'), source: 'test', demoTrust: false };
  const daemon = await startDaemon(loaded, { installer: new FakeInstaller(), loggers: createLoggers('silent', new PassThrough()), version: 't' });
  t.teardown(() => daemon.stop());
  const r = await apiRequest(daemon.url, '/v1/bundles/x-1/retry', { method: 'POST', token: 'f'.repeat(64) });
  t.equal(r.status, 404, 'the existing token is accepted');
});

t.test('server-sent events: bundle progress and state changes, audit events, keep-alives; cleaned up on close', async (t) => {
  const h = await start(t);
  const received: string[] = [];
  const req = http.get(`${h.url}/v1/events`);
  const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['content-type']), /^text\/event-stream/);
  res.setEncoding('utf8').on('data', (c: string) => received.push(c));
  dropBundle(h.drop, 'sse');
  await eventually(() => received.join('').includes('"state":"installed"'), 'installed event');
  await eventually(() => received.join('').includes(': keep-alive'), 'keep-alive comment');
  const text = received.join('');
  const events = text.split('\n\n').filter((b) => b.startsWith('event: '));
  const parsed = events.map((b) => ({
    event: /^event: (\w+)/.exec(b)![1],
    data: JSON.parse(/\ndata: (.*)$/m.exec(b)![1]!) as Record<string, unknown>,
  }));
  const states = parsed.filter((e) => e.event === 'bundle').map((e) => e.data['state']);
  t.ok(states.includes('arriving') || states.includes('queued'), 'arrival or queueing seen');
  t.ok(states.includes('verifying'));
  t.equal(states[states.length - 1], 'installed');
  for (const e of parsed.filter((x) => x.event === 'bundle'))
    t.same(schemaProblems('daemon-state', { schema: 'airlock.daemon-state/v1', records: [e.data], processed: {} }), []);
  t.same(
    parsed.filter((e) => e.event === 'audit').map((e) => e.data['event']),
    ['detected', 'accepted', 'installed'],
  );
  t.equal(h.daemon.hub.size, 1, 'one subscriber while connected');
  req.destroy();
  await eventually(() => h.daemon.hub.size === 0, 'subscriber removed when the client goes away');
});

t.test('/metrics is Prometheus text with the airlock series', async (t) => {
  const h = await start(t);
  h.installer.outcomeFor = (l) => (l.endsWith('bad') ? new AirlockError('HASH_MISMATCH', 'x') : 'install');
  dropBundle(h.drop, 'good');
  dropBundle(h.drop, 'bad');
  await eventually(async () => (await bundles(h.url)).filter((b) => ['installed', 'rejected'].includes(b.state)).length === 2, 'both done');
  const r = await apiRequest<string>(h.url, '/metrics');
  t.equal(r.status, 200);
  t.match(r.contentType, /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf)$/.exec(line);
    t.ok(m, `sample line parses: ${line}`);
    if (m) samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  t.equal(samples.get('airlock_bundles_finished_total{outcome="installed"}'), 1);
  t.equal(samples.get('airlock_bundles_finished_total{outcome="rejected"}'), 1);
  t.equal(samples.get('airlock_bundles_finished_total{outcome="duplicate"}'), 0);
  t.equal(samples.get('airlock_rejections_total{code="HASH_MISMATCH"}'), 1);
  t.equal(samples.get('airlock_verified_bytes_total'), 1000);
  t.equal(samples.get('airlock_verified_files_total'), 2);
  t.equal(samples.get('airlock_verification_duration_seconds_count{outcome="installed"}'), 1);
  t.equal(samples.get('airlock_verification_duration_seconds_bucket{outcome="rejected",le="+Inf"}'), 1);
  t.equal(samples.get('airlock_bundle_records{state="installed"}'), 1);
  t.equal(samples.get('airlock_build_info{version="9.9.9-test"}'), 1);
  t.ok((samples.get('airlock_store_free_bytes') ?? 0) > 0, 'store free bytes');
  t.equal(samples.get('airlock_current_sequence{model="meta/llama",channel="stable"}'), 2);
  t.equal(samples.get('airlock_last_install_timestamp_seconds{model="meta/llama"}'), Date.parse('2026-01-01T00:00:00.000Z') / 1000);
  t.match(r.body, /# TYPE airlock_verification_duration_seconds histogram/);
});

t.test('the API keeps answering while a bundle is being verified', async (t) => {
  const h = await start(t);
  h.installer.hold = true;
  dropBundle(h.drop, 'slow');
  await eventually(() => h.installer.waiting().length === 1, 'held in verification');
  const status = await apiRequest<{ queue: { verifying?: string } }>(h.url, '/v1/status');
  t.ok(status.body.queue.verifying, 'status names the bundle being verified');
  const b = (await bundles(h.url))[0]!;
  t.match(b, { state: 'verifying', verification: { phase: 'payload', bytesDone: 400, bytesTotal: 1000 } });
  h.installer.release();
  await eventually(async () => (await bundles(h.url))[0]!.state === 'installed', 'installed');
});

t.test('a response that does not match its schema is a 500 INTERNAL, not undocumented JSON', async (t) => {
  const h = await start(t);
  (h.deployments.models[0] as unknown as Record<string, unknown>)['surprise'] = true;
  const r = await apiRequest<{ code: string }>(h.url, '/v1/deployments');
  t.same([r.status, r.body.code], [500, 'INTERNAL']);
});

t.test('deploys after install when a Deployer is configured; its state shows per model', async (t) => {
  const deployed: string[] = [];
  const deployer: Deployer = {
    async deploy(name, opts) {
      deployed.push(`${name}@${opts?.expectDigest?.slice(0, 4)}`);
      opts?.onState?.({ state: 'starting' });
      return {
        state: { state: 'ready', containerId: 'c0ffee', health: '200 /v1/health/ready' },
        current: h.deployments.models[0]!.current!,
        fellBack: false,
      };
    },
  };
  const h: Harness = await start(t, {}, deployer);
  // The fake store says meta/llama's current deployment is llama-2, digest aaaa…: make the installed bundle match it.
  h.installer.digestFor = () => 'a'.repeat(64);
  h.installer.nameFor = () => 'meta/llama';
  dropBundle(h.drop, 'deploy-me');
  await eventually(async () => (await bundles(h.url))[0]?.state === 'ready', 'ready').catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await bundles(h.url))}`);
  });
  t.same(deployed, ['meta/llama@aaaa'], 'the installed bundle, by name and the digest it must be');
  const b = (await bundles(h.url))[0]!;
  t.match(b.deployment, { state: 'ready', containerId: 'c0ffee' });
  const status = await apiRequest<{ models: Array<{ runtime?: { state: string } }> }>(h.url, '/v1/status');
  t.match(status.body.models[0]!.runtime, { state: 'ready' });
});

t.test('a deploy that fell back to the previous deployment fails the bundle and audits what serves again', async (t) => {
  const deployer: Deployer = {
    async deploy() {
      const back = h.deployments.models[0]!.kept[0]!;
      return {
        state: { state: 'rolled-back', code: 'ROLLED_BACK', message: 'not ready in time; the previous deployment serves again' },
        current: back,
        fellBack: true,
      };
    },
  };
  const h: Harness = await start(t, {}, deployer);
  h.installer.digestFor = () => 'a'.repeat(64);
  h.installer.nameFor = () => 'meta/llama';
  dropBundle(h.drop, 'bad-model');
  await eventually(async () => (await bundles(h.url))[0]?.state === 'failed', 'failed');
  t.match((await bundles(h.url))[0]!.deployment, { state: 'rolled-back', code: 'ROLLED_BACK' });
  t.same(h.deployments.rollbacks, [], 'the pipeline leaves the store to the deploy use case (src/ops/deploy.ts)');
  const audit = await apiRequest<{ events: Array<{ event: string; code?: string; bundleId?: string }> }>(h.url, '/v1/audit?limit=2');
  t.match(audit.body.events, [
    { event: 'deploy-failed', code: 'ROLLED_BACK' },
    { event: 'rolled-back', bundleId: 'llama-1' },
  ]);
});

t.test('a media root that appears after start (first USB mount) is watched from then on', async (t) => {
  const base = scratchDir(t);
  const mediaRoot = path.join(base, 'run-media');
  const h = await start(t, { mediaRoots: [mediaRoot], dropFolders: [path.join(base, 'drop')] }, undefined, 100);
  const watched = async () =>
    (await apiRequest<{ watched: Array<{ path: string; kind: string; watching: boolean }> }>(h.url, '/v1/status')).body.watched;
  t.match(
    (await watched()).find((w) => w.kind === 'media'),
    { path: mediaRoot, watching: false },
  );
  mkdirSync(path.join(mediaRoot, 'operator'), { recursive: true });
  await eventually(async () => (await watched()).some((w) => w.kind === 'media' && w.watching), 'media root watched');
  dropBundle(path.join(mediaRoot, 'operator', 'STICK'), 'from-usb');
  await eventually(async () => (await bundles(h.url)).some((b) => b.media && b.state === 'installed'), 'installed from the stick');
});

t.test('listens on a unix socket when configured', async (t) => {
  // Not in tap's fixture folder: its name can exceed the 107 bytes a socket path may have.
  const dir = scratchDir(t);
  const socket = path.join(dir, 'api.sock');
  const loaded = {
    config: configFromDocument(testConfig(dir, { api: { socket, tokenFile: path.join(dir, 'tok') } }), dir, 'test'),
    source: 'test',
    demoTrust: false,
  };
  const daemon = await startDaemon(loaded, { installer: new FakeInstaller(), loggers: createLoggers('silent', new PassThrough()), version: 't' });
  t.equal(daemon.url, `unix:${socket}`);
  const r = await apiRequest(daemon.url, '/healthz');
  t.same([r.status, r.body], [200, { status: 'ok' }]);
  await daemon.stop();
  // A socket left by a crash is replaced on the next start.
  const again = await startDaemon(loaded, { installer: new FakeInstaller(), loggers: createLoggers('silent', new PassThrough()), version: 't' });
  t.equal((await apiRequest(again.url, '/healthz')).status, 200);
  await again.stop();
});
