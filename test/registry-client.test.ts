// The OCI distribution client against a real CNCF Distribution 2.8 (docker-registry) and against hostile
// registries (a node:http server that answers what no registry should): caps, redirects, stalls, digests.
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { uploadBlob } from '../src/registry/blob-upload.js';
import { parseChallenge } from '../src/registry/challenge.js';
import { RegistryClient } from '../src/registry/client.js';
import { OCI_MANIFEST, SIGNATURES_ARTIFACT } from '../src/registry/media-types.js';
import { parseRegistryUrl, parseRepositoryTarget, referrersTag } from '../src/registry/reference.js';
import { fileUploadSessions } from '../src/registry/upload-sessions.js';
import { emptyDescriptor, signaturesArtifact } from '../src/registry/artifact.js';
import { requireRegistry, startRegistry } from './helpers/registry.js';
import { scratchDir } from './helpers/scratch.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (bytes: Buffer, what = 'test blob') => ({
  digest: digestOf(bytes),
  size: bytes.length,
  what,
  open: (o: number) => Readable.from([bytes.subarray(o)]),
});

async function clientFor(url: string, extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}): Promise<RegistryClient> {
  const c = await RegistryClient.create({ registry: parseRegistryUrl(url), ...extra });
  t.teardown(() => c.close());
  return c;
}

t.test('names: targets, repositories and the referrers tag follow the spec grammar', async (t) => {
  t.match(parseRepositoryTarget('http://127.0.0.1:5000/models/meta/llama:stable-3'), {
    registry: { origin: 'http://127.0.0.1:5000', host: '127.0.0.1:5000', secure: false },
    repository: 'models/meta/llama',
    tag: 'stable-3',
  });
  t.match(parseRepositoryTarget('registry.example/models/x'), {
    registry: { origin: 'https://registry.example', secure: true },
    repository: 'models/x',
  });
  t.throws(() => parseRepositoryTarget('127.0.0.1:5000/Models/X'), { code: 'USAGE' });
  t.throws(() => parseRepositoryTarget('127.0.0.1:5000/../x'), { code: 'USAGE' });
  t.throws(() => parseRegistryUrl('http://user:pw@host:5000'), { code: 'CONFIG_INVALID' });
  t.throws(() => parseRegistryUrl('http://host:5000/v2/'), { code: 'CONFIG_INVALID' });
  t.throws(() => parseRegistryUrl('ftp://host'), { code: 'CONFIG_INVALID' });
  t.equal(referrersTag(`sha256:${'ab'.repeat(32)}`), `sha256-${'ab'.repeat(32)}`);
  t.match(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:x:pull' },
  });
  t.match(parseChallenge('Basic realm="airlock"'), { scheme: 'basic', params: { realm: 'airlock' } });
  t.equal(parseChallenge('Negotiate abc'), undefined);
});

t.test('blobs: HEAD first, then one streamed PATCH and the closing PUT; a blob already there is not sent again', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const c = await clientFor(reg.url);
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  let sent = 0;
  t.equal(await uploadBlob(c, 'test/blobs', blob(bytes), { onBytes: (n) => (sent += n) }), 'uploaded');
  t.equal(sent, bytes.length);
  t.equal(await c.blobSize('test/blobs', digestOf(bytes)), bytes.length);
  const since = reg.mark();
  t.equal(await uploadBlob(c, 'test/blobs', blob(bytes)), 'present');
  t.same(
    since().map((r) => r.method),
    ['HEAD'],
    'only a HEAD the second time',
  );
  // An empty blob is a blob too (an empty payload file).
  t.equal(await uploadBlob(c, 'test/blobs', blob(Buffer.alloc(0))), 'uploaded');
  const res = await c.openBlob('test/blobs', digestOf(bytes), bytes.length);
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(chunk as Buffer);
  t.ok(Buffer.concat(chunks).equals(bytes), 'the bytes come back');
});

t.test('a file that changed after it was verified is refused by the registry as HASH_MISMATCH', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const c = await clientFor(reg.url);
  const bytes = randomBytes(4096);
  const other = Buffer.from(bytes);
  other[0] = other[0]! ^ 1;
  await t.rejects(uploadBlob(c, 'test/changed', { ...blob(bytes), open: () => Readable.from([other]) }), { code: 'HASH_MISMATCH' });
  t.equal(await c.blobSize('test/changed', digestOf(bytes)), undefined, 'nothing under the digest');
});

t.test('an interrupted upload goes on from where the registry says it stands', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const c = await clientFor(reg.url);
  const dir = scratchDir(t);
  const file = path.join(dir, 'blob');
  const bytes = randomBytes(2 * 1024 * 1024);
  await writeFile(file, bytes);
  const sessions = fileUploadSessions(path.join(dir, 'sessions'));
  const key = `${reg.url}/test/resume@${digestOf(bytes)}`;
  // The first half went up in a session an earlier run started and kept (a completed chunk).
  const post = await c.send('POST', '/v2/test/resume/blobs/uploads/', { headers: { 'Content-Length': '0' }, body: Buffer.alloc(0) });
  post.body.resume();
  const half = bytes.length / 2;
  const patch = await c.send('PATCH', new URL(String(post.headers.location), post.url), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(half), 'Content-Range': `0-${half - 1}` },
    body: bytes.subarray(0, half),
  });
  patch.body.resume();
  t.equal(patch.status, 202);
  await sessions.set(key, new URL(String(patch.headers.location), patch.url).href);
  let sent = 0;
  const outcome = await uploadBlob(
    c,
    'test/resume',
    { digest: digestOf(bytes), size: bytes.length, what: 'blob', open: (o) => createReadStream(file, { start: o }) },
    { sessions, onBytes: (n) => (sent += n) },
  );
  t.equal(outcome, 'uploaded');
  t.equal(sent, bytes.length - half, 'only the second half was sent');
  t.equal(await sessions.get(key), undefined, 'the session is forgotten once the blob is in');
  t.equal(await c.blobSize('test/resume', digestOf(bytes)), bytes.length);
});

t.test('manifests, paged tags and the referrers tag schema on a registry without the referrers API', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t);
  const c = await clientFor(reg.url);
  const config = Buffer.from('{"a":1}');
  await uploadBlob(c, 'test/m', blob(config));
  await uploadBlob(c, 'test/m', blob(Buffer.from('{}')));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.test+json', digest: digestOf(config), size: config.length },
      layers: [],
    }),
  );
  const put = await c.putManifest('test/m', 'stable-1', manifest, OCI_MANIFEST);
  t.equal(put.digest, digestOf(manifest));
  for (const tag of ['stable-2', 'stable-10', 'beta-1', 'stable-3']) await c.putManifest('test/m', tag, manifest, OCI_MANIFEST);
  t.same((await c.tags('test/m', 2)).sort(), ['beta-1', 'stable-1', 'stable-10', 'stable-2', 'stable-3'], 'every page followed');
  t.equal(await c.resolve('test/m', 'stable-10', [OCI_MANIFEST]), put.digest);
  t.equal(await c.resolve('test/m', 'nope', [OCI_MANIFEST]), undefined);
  t.ok((await c.manifest('test/m', put.digest, [OCI_MANIFEST])).bytes.equals(manifest));

  const subject = { mediaType: OCI_MANIFEST, digest: put.digest, size: manifest.length };
  const sig = signaturesArtifact(subject, []);
  t.same(JSON.parse(sig.toString()).config, emptyDescriptor());
  const pushed = await c.putManifest('test/m', digestOf(sig), sig, OCI_MANIFEST);
  t.notOk(pushed.subjectProcessed, 'Distribution 2.8 does not process subjects');
  const descriptor = { mediaType: OCI_MANIFEST, digest: pushed.digest, size: sig.length, artifactType: SIGNATURES_ARTIFACT };
  await c.addReferrer('test/m', put.digest, descriptor);
  await c.addReferrer('test/m', put.digest, descriptor);
  const found = await c.referrers('test/m', put.digest, SIGNATURES_ARTIFACT);
  t.equal(found.via, 'tag');
  t.same(
    found.descriptors.map((d) => d.digest),
    [pushed.digest],
    'listed once under the referrers tag',
  );
  t.ok((await c.tags('test/m')).includes(referrersTag(put.digest)));
});

t.test('TLS from a test CA with htpasswd basic auth: the CA and the credentials are both needed', async (t) => {
  if (!requireRegistry(t)) return;
  const reg = await startRegistry(t, { tls: true, auth: true });
  const good = await clientFor(reg.url, { caFile: reg.caFile!, auth: { basicFile: reg.basicFile! } });
  t.match(await good.ping(), { status: 200, authenticated: true, apiVersion: 'registry/2.0' });
  t.equal(await uploadBlob(good, 'secure/x', blob(Buffer.from('hello'))), 'uploaded');

  const noCa = await clientFor(reg.url, { auth: { basicFile: reg.basicFile! } });
  await t.rejects(noCa.ping(), { code: 'REGISTRY_TLS' });
  const anonymous = await clientFor(reg.url, { caFile: reg.caFile! });
  await t.rejects(anonymous.ping(), { code: 'REGISTRY_AUTH' });
  await t.rejects(anonymous.blobSize('secure/x', digestOf(Buffer.from('hello'))), { code: 'REGISTRY_AUTH' });
  const wrongFile = path.join(scratchDir(t), 'wrong');
  await writeFile(wrongFile, `${reg.user}:not-the-password\n`);
  const wrong = await clientFor(reg.url, { caFile: reg.caFile!, auth: { basicFile: wrongFile } });
  await t.rejects(wrong.ping(), { code: 'REGISTRY_AUTH' });
  const plain = await clientFor(reg.url.replace('https:', 'http:'));
  await t.rejects(plain.ping(), { code: /REGISTRY_(UNREACHABLE|ERROR)/ });
});

/** A registry that misbehaves on purpose: `handler` answers every request. */
async function hostile(t: Test, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (s) => t.teardown(() => s.destroy()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('a registry that sends airlock elsewhere: redirects only to allowed hosts, never https to http, credentials kept home', async (t) => {
  let sawAuth: string | undefined;
  const storage = await hostile(t, (req, res) => {
    sawAuth = req.headers.authorization;
    res.end('blob');
  });
  const storageHost = new URL(storage).host;
  const url = await hostile(t, (req, res) => {
    if (req.headers.authorization === undefined) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end();
      return;
    }
    res.writeHead(307, { Location: `${storage}/blob` }).end();
  });
  const dir = scratchDir(t);
  await writeFile(path.join(dir, 'basic'), 'u:p\n');
  const refused = await clientFor(url, { auth: { basicFile: path.join(dir, 'basic') } });
  await t.rejects(refused.openBlob('x/y', digestOf(Buffer.from('blob')), 4), {
    code: 'REGISTRY_ERROR',
    message: /not the registry or one of its extraHosts/,
  });
  const allowed = await clientFor(url, { auth: { basicFile: path.join(dir, 'basic') }, extraHosts: [storageHost] });
  const res = await allowed.openBlob('x/y', digestOf(Buffer.from('blob')), 4);
  res.body.resume();
  t.equal(res.status, 200);
  t.equal(sawAuth, undefined, 'no Authorization header went to the storage host');
});

t.test('a registry that floods, stalls or lies about digests is cut off with a code', async (t) => {
  const huge = await hostile(t, (req, res) => {
    if (req.url?.includes('/manifests/')) {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': String(64 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      return; // never ends: the client must not wait for 64 MiB
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"tags":["');
    const chunk = 'a'.repeat(64 * 1024);
    const pump = () => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    pump();
  });
  const c = await clientFor(huge);
  await t.rejects(c.manifest('x/y', 'stable-1', [OCI_MANIFEST]), { code: 'REGISTRY_ERROR', message: /larger than/ });
  await t.rejects(c.tags('x/y'), { code: 'REGISTRY_ERROR', message: /larger than/ });

  const stalled = await hostile(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '100' });
    res.write('x'); // then nothing
  });
  const slow = await clientFor(stalled, { idleTimeoutMs: 300 });
  const r = await slow.openBlob('x/y', digestOf(Buffer.alloc(100)), 100);
  await t.rejects(
    (async () => {
      for await (const _ of r.body) void _;
    })(),
    'a stalled body ends in an error',
  );
  await t.rejects(slow.manifest('x/y', 'stable-1', [OCI_MANIFEST]), { code: 'REGISTRY_UNREACHABLE' });

  const liar = await hostile(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Docker-Content-Digest': `sha256:${'0'.repeat(64)}` });
    res.end('{}');
  });
  const l = await clientFor(liar);
  await t.rejects(l.manifest('x/y', 'stable-1', [OCI_MANIFEST]), { code: 'REGISTRY_MISMATCH' });
  await t.rejects(l.openBlob('x/y', digestOf(Buffer.from('{}')), 2), { code: 'REGISTRY_MISMATCH' });
  await t.rejects(l.manifest('x/y', digestOf(Buffer.from('{"other":1}')), [OCI_MANIFEST]), { code: 'REGISTRY_MISMATCH' });

  const closed = await clientFor('http://127.0.0.1:9');
  await t.rejects(closed.ping(), { code: 'REGISTRY_UNREACHABLE' });
});
