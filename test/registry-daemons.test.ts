// Two daemons (two stores, two API ports) subscribed to one repository of a real CNCF Distribution 2.8: a
// model travels from signed bundles to running deployments with no USB and no rsync. Daemon A deploys with the
// real Docker Engine, pulling the image by digest from the registry; daemon B installs only. Every failure the
// issue names is driven here: a payload blob edited on the registry's disk, a bundle by an untrusted signer
// (rejected with no payload blob fetched, as the registry's access log shows), the registry killed mid-pull.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { airlock } from './helpers/cli.js';
import { auditLines, startTestDaemon, type TestDaemon } from './helpers/daemon.js';
import { docker, ensureFakeNimImage, freePort, removeContainers, requireDocker, saveImage } from './helpers/docker.js';
import { fixturePath, packFixture, type PackedFixture } from './helpers/fixtures.js';
import { makeKey } from './helpers/keys.js';
import { DEMO_KEY } from './helpers/nim-bundles.js';
import { requireRegistry, startRegistry } from './helpers/registry.js';
import { scratchDir } from './helpers/scratch.js';

const MODEL = `reg/model-${process.pid}`;
const REPO = 'models/reg-e2e';

/** A fake NIM image of this test alone (a new ID over the fake's layer), so the engine must pull it. */
async function uniqueImage(t: Test, dir: string): Promise<{ ref: string; id: string; archive: string }> {
  const base = await ensureFakeNimImage();
  const ref = `airlock/fake-nim-reg:t-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // Never started: committed with the fake's own command and entrypoint, and one label more.
  const container = await docker.createContainer({ Image: base.id });
  const [repo, tag] = ref.split(':');
  await (container.commit({ repo, tag, changes: [`LABEL airlock.test=${ref}`] } as never) as unknown as Promise<unknown>);
  await container.remove({ force: true });
  const id = (await docker.getImage(ref).inspect()).Id;
  const archive = path.join(dir, 'unique-image.tar');
  await saveImage(ref, archive);
  // Gone from the engine: daemon A can only have it by pulling it from the registry.
  await docker.getImage(id).remove({ force: true });
  t.teardown(() =>
    docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined),
  );
  return { ref, id, archive };
}

t.test('publish carries one signed model to two daemons through one registry; every failure leaves both stores as they were', async (t) => {
  if (!requireRegistry(t) || !(await requireDocker(t))) return;
  t.teardown(() => removeContainers(`airlock.model=${MODEL}`));
  const dir = scratchDir(t);
  const reg = await startRegistry(t);
  const image = await uniqueImage(t, dir);
  const stranger = makeKey(dir, 'stranger');
  const publisherTrust = path.join(dir, 'publisher_allowed_signers');
  await writeFile(
    publisherTrust,
    (await readFile(DEMO_ALLOWED_SIGNERS, 'utf8')) + `stranger@airlock.test namespaces="airlock" ${stranger.publicLine}\n`,
  );

  const pack = async (sequence: number, extra: Record<string, Buffer> = {}, key = DEMO_KEY): Promise<PackedFixture> => {
    const source = path.join(dir, `cache-${sequence}`);
    await cp(fixturePath('nim-cache'), source, { recursive: true, verbatimSymlinks: true });
    for (const [name, bytes] of Object.entries(extra)) await writeFile(path.join(source, name), bytes);
    return packFixture(t, {
      source,
      kind: 'nim-cache',
      withProfile: true,
      name: MODEL,
      sequence,
      servedModelName: 'reg-model',
      signKeys: [key],
      images: [`${image.archive}=${image.ref}`],
    });
  };
  const publish = async (b: PackedFixture, trust = DEMO_ALLOWED_SIGNERS) => {
    const res = await airlock([
      'publish',
      b.location,
      '--to',
      `${reg.url}/${REPO}`,
      '--trust',
      trust,
      '--json',
      '--resume-dir',
      path.join(dir, 'uploads'),
    ]);
    t.equal(res.exitCode, 0, `publish ${b.id}: ${res.stderr}`);
    return JSON.parse(res.stdout);
  };

  const port = await freePort();
  const subscription = { url: reg.url, repository: REPO, channel: 'stable', name: MODEL, pollSeconds: 1 };
  const configA = {
    registries: [subscription],
    runtime: { kind: 'docker', gpus: 'none', publishHost: '127.0.0.1', publishPort: port, readyTimeoutMs: 60000, pollIntervalMs: 200 },
  };
  const configB = { registries: [subscription] };
  let a = await startTestDaemon(t, { dir: path.join(dir, 'a'), config: configA });
  let b = await startTestDaemon(t, { dir: path.join(dir, 'b'), config: configB });
  const settled = (d: TestDaemon, tag: string, states: BundleRecord['state'][], what: string) =>
    d.waitFor((bs) => bs.find((r) => r.location === `${reg.url}/${REPO}:${tag}` && states.includes(r.state)), { timeoutMs: 180_000, what });

  // v1: both take it; A pulls the image by digest through the engine and serves it.
  const v1 = await pack(1);
  const p1 = await publish(v1);
  const a1 = await settled(a, 'stable-1', ['ready', 'failed', 'rejected'], 'A deployed v1');
  t.equal(a1.state, 'ready', JSON.stringify(a1.error ?? a1.deployment));
  t.equal(a1.form, 'registry');
  t.match(a1.source, { kind: 'registry', params: { digest: p1.digest, repository: REPO } });
  const b1 = await settled(b, 'stable-1', ['installed', 'failed', 'rejected'], 'B installed v1');
  t.equal(b1.state, 'installed', JSON.stringify(b1.error));
  t.equal(b1.manifestDigest, v1.manifestDigest);
  t.equal((await docker.getImage(image.id).inspect()).Id, image.id, 'the engine holds the pinned image ID');
  const pulled = p1.images[0].pull as string;
  t.ok(
    reg.requests().some((r) => r.method === 'GET' && r.path === `/v2/${pulled.slice(pulled.indexOf('/') + 1).replace('@', '/manifests/')}`),
    'the engine pulled the image manifest by digest from the registry',
  );
  const stateA = JSON.parse(await readFile(path.join(a.store, 'state.json'), 'utf8'));
  t.equal(stateA.models[0].deployments[0].images[0].pull, pulled, 'the store records where the image is pulled from');
  t.ok(
    auditLines(a, 'detected').some((l) => l['location'] === `${reg.url}/${REPO}:stable-1`),
    'the audit trail names the registry source',
  );

  // v2: one more file; both move, and only what is new is fetched.
  const v2 = await pack(2, { 'release-notes.txt': Buffer.from('v2\n') });
  const sinceV2 = reg.mark();
  await publish(v2);
  const a2 = await settled(a, 'stable-2', ['ready', 'failed', 'rejected'], 'A deployed v2');
  t.equal(a2.state, 'ready', JSON.stringify(a2.error ?? a2.deployment));
  t.equal((await settled(b, 'stable-2', ['installed', 'failed', 'rejected'], 'B installed v2')).state, 'installed');
  const v2Manifest = JSON.parse(await readFile(path.join(v2.location, 'airlock.json'), 'utf8'));
  const notes = v2Manifest.files.find((f: any) => f.path === 'release-notes.txt');
  const payloadGets = sinceV2().filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path));
  const fetched = new Set(payloadGets.map((r) => r.path.split('/').pop()));
  t.ok(fetched.has(`sha256:${notes.sha256}`), 'the new file was fetched');
  const unchanged = v2Manifest.files.filter((f: any) => f.type !== 'symlink' && f.path !== 'release-notes.txt');
  t.notOk(
    unchanged.some((f: any) => fetched.has(`sha256:${f.sha256}`)),
    'no file the stores already held was fetched again',
  );

  // v3, published while both daemons are down, then one payload blob edited on the registry's disk.
  await a.stop();
  await b.stop();
  const v3 = await pack(3, { 'release-notes.txt': Buffer.from('v3 with a different note\n') });
  await publish(v3);
  const v3Manifest = JSON.parse(await readFile(path.join(v3.location, 'airlock.json'), 'utf8'));
  const edited = v3Manifest.files.find((f: any) => f.path === 'release-notes.txt');
  const fh = await open(reg.blobFile(`sha256:${edited.sha256}`), 'r+');
  await fh.write(Buffer.from('V'), 0, 1, 0);
  await fh.close();
  const before = { a: await storeSnapshot(a.store), b: await storeSnapshot(b.store) };
  a = await startTestDaemon(t, { dir: path.join(dir, 'a'), config: configA });
  b = await startTestDaemon(t, { dir: path.join(dir, 'b'), config: configB });
  t.equal((await a.bundles()).find((r) => r.location.endsWith(':stable-2'))?.state, 'ready', 'the records survived the restart');
  for (const [name, d] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const r3 = await settled(d, 'stable-3', ['rejected', 'failed', 'installed', 'ready'], `${name} judged v3`);
    t.equal(r3.state, 'rejected', `${name}: ${JSON.stringify(r3.error)}`);
    t.equal(r3.error?.code, 'HASH_MISMATCH', `${name}: the edited blob is caught by its hash`);
  }
  t.same({ a: await storeSnapshot(a.store), b: await storeSnapshot(b.store) }, before, 'both stores are exactly as they were');

  // v4 by a signer the daemons do not trust (the publisher does): rejected from its head, no payload blob fetched.
  const v4 = await pack(4, { 'stranger.bin': randomBytes(4096) }, stranger.privatePath);
  const sinceV4 = reg.mark();
  await publish(v4, publisherTrust);
  for (const [name, d] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const r4 = await settled(d, 'stable-4', ['rejected', 'failed', 'installed', 'ready'], `${name} judged v4`);
    t.equal(r4.error?.code, 'UNTRUSTED_SIGNER', name);
  }
  const v4Manifest = JSON.parse(await readFile(path.join(v4.location, 'airlock.json'), 'utf8'));
  const payloadDigests = new Set(v4Manifest.files.filter((f: any) => f.type !== 'symlink').map((f: any) => `sha256:${f.sha256}`));
  const gets = sinceV4().filter((r) => r.method === 'GET' && payloadDigests.has(r.path.split('/').pop() ?? ''));
  t.same(gets, [], 'not one payload blob of the untrusted bundle was fetched');

  // v5 with a large file: the registry is killed while both pull it; both fail, then finish once it is back.
  const v5 = await pack(5, { 'weights.bin': randomBytes(384 * 1024 * 1024) });
  await publish(v5);
  const pulling = (d: TestDaemon) =>
    d.waitFor((bs) => bs.find((r) => r.location.endsWith(':stable-5') && r.verification.phase === 'payload' && r.verification.bytesDone > 0), {
      timeoutMs: 120_000,
      what: 'v5 being fetched',
    });
  await Promise.all([pulling(a), pulling(b)]);
  await reg.stop();
  for (const [name, d] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const failed = await settled(d, 'stable-5', ['failed', 'rejected', 'installed', 'ready'], `${name} lost the registry`);
    t.equal(failed.state, 'failed', `${name}: ${JSON.stringify(failed.error)}`);
    t.equal(failed.error?.code, 'REGISTRY_UNREACHABLE', name);
  }
  const status = await a.api<{ registries: Array<{ error?: { code: string } }> }>('/v1/status');
  t.equal(status.status, 200, 'the daemon serves on without its registry');
  await sleep(1500);
  await reg.start();
  const retried = (d: TestDaemon, what: string) =>
    d.waitFor(
      (bs) =>
        bs.find((r) => r.location.endsWith(':stable-5') && (r.state === 'ready' || r.state === 'installed' || (r.state === 'failed' && !r.error))),
      {
        timeoutMs: 180_000,
        what,
      },
    );
  const a5 = await retried(a, 'A retried v5');
  t.equal(a5.state, 'ready', JSON.stringify(a5.deployment));
  t.equal((await retried(b, 'B retried v5')).state, 'installed');
  t.ok(
    auditLines(b, 'retry').some((l) => l['actor'] === 'registry'),
    'the retry came from the subscription',
  );
  const current = JSON.parse(await readFile(path.join(b.store, 'state.json'), 'utf8')).models[0].deployments[0];
  t.equal(current.manifestDigest, v5.manifestDigest);
  await a.stop();
  await b.stop();
});

/** The store's committed state and every content blob's name and size: what a rejected install must not change. */
async function storeSnapshot(store: string): Promise<{ state: string; blobs: string[] }> {
  const blobs: string[] = [];
  const root = path.join(store, 'content', 'sha256');
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(path.join(root, prefix))) blobs.push(name);
  }
  await mkdir(store, { recursive: true });
  return { state: await readFile(path.join(store, 'state.json'), 'utf8'), blobs: blobs.sort() };
}

t.test(
  'a subscription over TLS with basic auth installs; the password is never logged, kept or shown; wrong credentials are reported, not fatal',
  async (t) => {
    if (!requireRegistry(t)) return;
    const dir = scratchDir(t);
    const reg = await startRegistry(t, { tls: true, auth: true });
    const b = await packFixture(t, { fixture: 'model-dir', name: 'tls/model', sequence: 3, signKeys: [DEMO_KEY] });
    const pub = await airlock([
      'publish',
      b.location,
      '--to',
      `${reg.url}/models/tls`,
      '--trust',
      DEMO_ALLOWED_SIGNERS,
      '--ca-file',
      reg.caFile!,
      '--basic-file',
      reg.basicFile!,
    ]);
    t.equal(pub.exitCode, 0, pub.stderr);
    const wrong = path.join(dir, 'wrong-credentials');
    await writeFile(wrong, `${reg.user}:not-${reg.password}\n`);
    const good = {
      url: reg.url,
      repository: 'models/tls',
      channel: 'stable',
      pollSeconds: 1,
      caFile: reg.caFile,
      auth: { basicFile: reg.basicFile },
    };
    const bad = { ...good, repository: 'models/other', auth: { basicFile: wrong } };
    const d = await startTestDaemon(t, { dir: path.join(dir, 'd'), config: { registries: [good, bad] } });
    const rec = await d.waitFor((bs) => bs.find((r) => r.form === 'registry' && ['installed', 'failed', 'rejected'].includes(r.state)), {
      timeoutMs: 120_000,
      what: 'installed over TLS',
    });
    t.equal(rec.state, 'installed', JSON.stringify(rec.error));
    t.equal(rec.manifestDigest, b.manifestDigest);
    let status: { registries: Array<{ repository: string; tag?: string; error?: { code: string } }> } | undefined;
    for (let i = 0; i < 100; i++) {
      status = (await d.api<NonNullable<typeof status>>('/v1/status')).body;
      if (status.registries.find((r) => r.repository === 'models/other')?.error) break;
      await sleep(200);
    }
    t.match(
      status!.registries.find((r) => r.repository === 'models/tls'),
      { tag: 'stable-3' },
    );
    t.notOk(status!.registries.find((r) => r.repository === 'models/tls')?.error);
    t.equal(status!.registries.find((r) => r.repository === 'models/other')?.error?.code, 'REGISTRY_AUTH', 'refused credentials are reported');
    await d.stop();
    const written = [
      JSON.stringify(d.lines()),
      d.stderr(),
      await readFile(path.join(d.store, 'daemon', 'bundles.json'), 'utf8'),
      await readFile(path.join(d.store, 'daemon', 'audit.jsonl'), 'utf8'),
      await readFile(path.join(d.store, 'state.json'), 'utf8'),
      JSON.stringify(status),
    ].join('\n');
    t.notOk(written.includes(reg.password!), 'the password appears nowhere the daemon writes or answers');
    t.notOk(written.includes(Buffer.from(`${reg.user}:${reg.password}`).toString('base64')), 'nor its basic-auth encoding');
  },
);
