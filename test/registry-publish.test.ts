// airlock publish against a real CNCF Distribution 2.8: verification first (nothing reaches the registry from a
// bundle airlock would reject), the OCI mapping as skopeo sees it, HEAD before upload (a second publish sends
// no payload byte), resuming an interrupted publish, the store as a source, and TLS with basic auth.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { BUNDLE_ARTIFACT, BUNDLE_CONFIG, BUNDLE_FILE, SIGNATURES_ARTIFACT, TITLE } from '../src/registry/media-types.js';
import { AIRLOCK_BIN, airlock, childEnv } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';
import { DEMO_KEY } from './helpers/nim-bundles.js';
import { requireRegistry, startRegistry, type TestRegistry } from './helpers/registry.js';
import { scratchDir } from './helpers/scratch.js';
import { makeKey } from './helpers/keys.js';
import { writeDirBundle } from './helpers/bundle-builder.js';

const run = promisify(execFile);

const pushes = (reg: TestRegistry, since: () => ReturnType<TestRegistry['requests']>) =>
  since().filter((r) => ['POST', 'PATCH', 'PUT'].includes(r.method) && r.path.includes('/blobs/'));

async function publish(reg: TestRegistry, bundle: string, repo: string, extra: string[] = []) {
  const res = await airlock(['publish', bundle, '--to', `${reg.url}/${repo}`, '--trust', DEMO_ALLOWED_SIGNERS, '--json', ...extra]);
  return { ...res, report: res.stdout ? JSON.parse(res.stdout) : undefined };
}

async function skopeo(args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

t.test('publish pushes the OCI mapping skopeo reads; a second publish uploads no payload byte', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const b = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 4, signKeys: [DEMO_KEY] });
  const first = await publish(reg, b.location, 'models/test');
  t.equal(first.exitCode, 0, first.stderr);
  t.match(first.report, {
    tag: 'stable-4',
    bundle: { manifestDigest: b.manifestDigest },
    payload: { present: 0 },
    signatures: { count: 1, via: 'tag' },
  });
  t.ok(first.report.payload.uploaded > 0);

  const raw = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/models/test:stable-4`]));
  t.equal(raw.artifactType, BUNDLE_ARTIFACT);
  t.match(raw.config, { mediaType: BUNDLE_CONFIG, digest: `sha256:${b.manifestDigest}` }, 'the config blob is airlock.json itself');
  const manifest = JSON.parse(await readFile(path.join(b.location, 'airlock.json'), 'utf8'));
  const files = manifest.files.filter((f: any) => f.type !== 'symlink');
  t.same(
    raw.layers.map((l: any) => [l.mediaType, l.annotations[TITLE], l.digest, l.size]),
    files.map((f: any) => [BUNDLE_FILE, f.path, `sha256:${f.sha256}`, f.size]),
    'one layer per payload file, named by its path',
  );
  const tags = JSON.parse(await skopeo(['list-tags', '--tls-verify=false', `docker://${reg.host}/models/test`])).Tags;
  t.ok(tags.includes(`sha256-${first.report.digest.slice(7)}`), 'the signatures are listed under the referrers tag');
  const index = JSON.parse(
    await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/models/test:sha256-${first.report.digest.slice(7)}`]),
  );
  t.equal(index.manifests[0].artifactType, SIGNATURES_ARTIFACT);
  // The config blob as a registry serves it is byte for byte what the signatures cover.
  const config = await run('curl', ['-sf', `${reg.url}/v2/models/test/blobs/sha256:${b.manifestDigest}`], { encoding: 'buffer' });
  t.ok((config.stdout as unknown as Buffer).equals(await readFile(path.join(b.location, 'airlock.json'))));

  const since = reg.mark();
  const again = await publish(reg, b.location, 'models/test');
  t.equal(again.exitCode, 0, again.stderr);
  t.match(again.report, { digest: first.report.digest, payload: { uploaded: 0, bytesUploaded: 0 } });
  t.same(pushes(reg, since), [], 'no blob upload was even started');

  // The same bundle as a tar is the same artifact.
  const tar = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 4, signKeys: [DEMO_KEY], format: 'tar' });
  const fromTar = await publish(reg, tar.location, 'models/tar');
  t.equal(fromTar.exitCode, 0, fromTar.stderr);
  t.equal(fromTar.report.bundle.manifestDigest, tar.manifestDigest);
  t.equal(fromTar.report.payload.uploaded, first.report.payload.uploaded, 'every payload file, read from inside the tar');
});

t.test('a bundle airlock would reject never reaches the registry: a changed byte, an untrusted signer, a split bundle', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const since = reg.mark();
  const b = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 1, signKeys: [DEMO_KEY] });
  const file = path.join(b.location, 'payload', 'config.json');
  const bytes = await readFile(file);
  bytes[0] = bytes[0]! ^ 1;
  await writeFile(file, bytes);
  const changed = await publish(reg, b.location, 'models/test');
  t.equal(changed.errorCode, 'HASH_MISMATCH');

  const key = makeKey(scratchDir(t), 'stranger');
  const stranger = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 2, signKeys: [key.privatePath] });
  const untrusted = await publish(reg, stranger.location, 'models/test');
  t.equal(untrusted.errorCode, 'UNTRUSTED_SIGNER');

  const split = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 3, signKeys: [DEMO_KEY], split: '8K' });
  const parts = await publish(reg, split.location, 'models/test');
  t.equal(parts.errorCode, 'USAGE');
  t.same(
    since().filter((r) => r.path !== '/v2/' && r.method !== 'GET' && r.method !== 'HEAD'),
    [],
    'the registry received nothing',
  );
});

t.test('a bundle with more files than one OCI manifest holds is refused before anything is sent', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const since = reg.mark();
  // Paths near the 255-byte segment limit: about 1 KiB of layer descriptor per file, so 4,500 files make an
  // artifact manifest over the 4 MiB registries accept, while airlock.json stays under its own 16 MiB.
  const dir = `${'d'.repeat(250)}/${'e'.repeat(250)}/${'f'.repeat(250)}`;
  const files = Array.from({ length: 4500 }, (_, i) => ({ path: `${dir}/${String(i).padStart(240, '0')}`, data: Buffer.from(`${i}\n`) }));
  const scratch = scratchDir(t);
  const key = path.join(scratch, 'demo_ed25519'); // ssh-keygen signs only with a key file no one else can read
  await copyFile(DEMO_KEY, key);
  await chmod(key, 0o600);
  const { dir: bundle } = await writeDirBundle(path.join(scratch, 'many'), { files, signers: [{ privatePath: key }] });
  const res = await publish(reg, bundle, 'models/many');
  t.equal(res.errorCode, 'MANIFEST_TOO_LARGE');
  t.match(res.stderr, /too many files for one OCI manifest/);
  t.same(
    since().filter((r) => r.path !== '/v2/'),
    [],
    'the registry was not even asked',
  );
});

t.test('an interrupted publish goes on: the blobs already in are not sent again', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const source = path.join(scratchDir(t), 'big');
  await mkdir(source, { recursive: true });
  for (const n of [1, 2, 3, 4]) await writeFile(path.join(source, `shard-${n}.bin`), randomBytes(24 * 1024 * 1024));
  const b = await packFixture(t, { source, name: 'test/big', sequence: 1, signKeys: [DEMO_KEY] });
  const resume = path.join(scratchDir(t), 'sessions');
  const args = [
    'publish',
    b.location,
    '--to',
    `${reg.url}/models/big`,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--concurrency',
    '1',
    '--resume-dir',
    resume,
  ];
  const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], { env: childEnv(), stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Killed as soon as the first blob is in: the registry then holds one blob of four.
  const finished = () => reg.requests().filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 201);
  for (let i = 0; finished().length === 0 && i < 600; i++) await sleep(20);
  child.kill('SIGKILL');
  await exited;
  const done = finished().map((r) => new URL(r.path, reg.url).searchParams.get('digest'));
  t.ok(done.length >= 1 && done.length < 4, `killed with ${done.length} blob(s) in`);
  t.equal(reg.requests().filter((r) => r.method === 'PUT' && r.path.includes('/manifests/')).length, 0, 'no manifest was pushed yet');

  const since = reg.mark();
  const res = await airlock([...args, '--json']);
  t.equal(res.exitCode, 0, res.stderr);
  const report = JSON.parse(res.stdout);
  t.ok(report.payload.present >= done.length, 'the blobs already in were found by HEAD');
  const sentAgain = since().filter((r) => r.method === 'PUT' && done.includes(new URL(r.path, reg.url).searchParams.get('digest')));
  t.same(sentAgain, [], 'none of them was uploaded again');
  const store = path.join(scratchDir(t), 'store');
  const inst = await airlock([
    'install',
    '--registry',
    `${reg.url}/models/big:stable-1`,
    '--store',
    store,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--json',
  ]);
  t.equal(inst.exitCode, 0, inst.stderr);
  t.equal(JSON.parse(inst.stdout).manifestDigest, b.manifestDigest);
});

t.test('publish --deployment sends on what a host installed, its signatures kept in the store', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const b = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 7, signKeys: [DEMO_KEY] });
  const store = path.join(scratchDir(t), 'store');
  const inst = await airlock(['install', b.location, '--store', store, '--trust', DEMO_ALLOWED_SIGNERS]);
  t.equal(inst.exitCode, 0, inst.stderr);
  const fromStore = await airlock([
    'publish',
    '--deployment',
    'test/model',
    '--store',
    store,
    '--to',
    `${reg.url}/models/test`,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--json',
  ]);
  t.equal(fromStore.exitCode, 0, fromStore.stderr);
  const fromBundle = await publish(reg, b.location, 'models/other');
  t.equal(JSON.parse(fromStore.stdout).digest, fromBundle.report.digest, 'the same artifact as from the bundle itself');
  const missing = await airlock([
    'publish',
    '--deployment',
    'test/nothing',
    '--store',
    store,
    '--to',
    `${reg.url}/models/test`,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
  ]);
  t.equal(missing.errorCode, 'NO_SUCH_DEPLOYMENT');
});

t.test('publish over TLS from a test CA with basic auth; without the CA or the credentials it is refused', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t, { tls: true, auth: true });
  const b = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 1, signKeys: [DEMO_KEY] });
  const ok = await publish(reg, b.location, 'models/test', ['--ca-file', reg.caFile!, '--basic-file', reg.basicFile!]);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.equal((await publish(reg, b.location, 'models/test', ['--basic-file', reg.basicFile!])).errorCode, 'REGISTRY_TLS');
  t.equal((await publish(reg, b.location, 'models/test', ['--ca-file', reg.caFile!])).errorCode, 'REGISTRY_AUTH');
  const store = path.join(scratchDir(t), 'store');
  const inst = await airlock([
    'install',
    '--registry',
    `${reg.url}/models/test:stable-1`,
    '--store',
    store,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--ca-file',
    reg.caFile!,
    '--basic-file',
    reg.basicFile!,
  ]);
  t.equal(inst.exitCode, 0, inst.stderr);
  // The password file is read, never echoed.
  t.notMatch(ok.stdout + ok.stderr + inst.stdout + inst.stderr, reg.password!);
});

t.test('a mirror made with skopeo copy installs the same bundle (artifact and referrers tag copied as they are)', async (t) => {
  if (!requireRegistry(t)) return;
  const src = await startRegistry(t);
  const dst = await startRegistry(t);
  const b = await packFixture(t, { fixture: 'model-dir', name: 'test/model', sequence: 2, signKeys: [DEMO_KEY] });
  const pub = await publish(src, b.location, 'models/test');
  t.equal(pub.exitCode, 0, pub.stderr);
  const refTag = `sha256-${pub.report.digest.slice(7)}`;
  const tls = ['--src-tls-verify=false', '--dest-tls-verify=false'];
  // The artifact byte for byte (its digest is what the referrers tag is named after); the referrers index as
  // skopeo 1.9 rewrites it (it drops artifactType, which airlock then reads from each signatures manifest).
  await skopeo(['copy', '--preserve-digests', ...tls, `docker://${src.host}/models/test:stable-2`, `docker://${dst.host}/mirror/test:stable-2`]);
  await skopeo(['copy', '--all', ...tls, `docker://${src.host}/models/test:${refTag}`, `docker://${dst.host}/mirror/test:${refTag}`]);
  const store = path.join(scratchDir(t), 'store');
  const inst = await airlock([
    'install',
    '--registry',
    `${dst.url}/mirror/test:stable-2`,
    '--store',
    store,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--json',
  ]);
  t.equal(inst.exitCode, 0, inst.stderr);
  t.equal(JSON.parse(inst.stdout).manifestDigest, b.manifestDigest);
});
