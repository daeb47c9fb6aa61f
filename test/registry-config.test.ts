// The registry subscription's pure parts: the `registries` config (schema, defaults, paths, what the schema
// cannot say), which tag is the newest of a channel, how long the wait grows after failures, and the OCI
// mapping's checks of what a registry serves against the signed manifest.
import t from 'tap';
import { configFromDocument } from '../src/config/load-config.js';
import type { Manifest } from '../src/format/manifest.js';
import {
  bundleArtifact,
  checkArtifact,
  imageRepositoryFor,
  parseBundleArtifact,
  signatureLayers,
  signaturesArtifact,
} from '../src/registry/artifact.js';
import { parseManifestDocument } from '../src/registry/client.js';
import { latestTag, MAX_BACKOFF_SECONDS, nextPollSeconds } from '../src/registry/tags.js';

const minimal = { store: 'store', trust: { allowedSigners: 'allowed_signers' } };
const sub = { url: 'https://registry.enclave:5000', repository: 'models/meta/llama', channel: 'stable' };

t.test('registries: defaults, paths against the config folder, credentials as files only', async (t) => {
  const c = configFromDocument(
    { ...minimal, registries: [{ ...sub, caFile: 'ca.pem', auth: { basicFile: 'secrets/registry' } }] },
    '/etc/airlock',
    'x',
  );
  t.same(c.registries, [{ ...sub, pollSeconds: 30, caFile: '/etc/airlock/ca.pem', auth: { basicFile: '/etc/airlock/secrets/registry' } }]);
  t.same(configFromDocument(minimal, '/etc/airlock', 'x').registries, []);
});

t.test('registries: a bad entry is CONFIG_INVALID naming the field', async (t) => {
  const bad = (entry: Record<string, unknown>, field: RegExp) =>
    t.throws(
      () => configFromDocument({ ...minimal, registries: [entry] }, '/c', 'x'),
      { code: 'CONFIG_INVALID', path: field },
      JSON.stringify(entry),
    );
  bad({ ...sub, url: 'ftp://registry' }, /registries\/0\/url/);
  bad({ ...sub, url: 'https://user:pw@registry' }, /registries\/0\/url/);
  bad({ ...sub, url: 'https://registry/v2/' }, /registries\/0\/url/);
  bad({ ...sub, repository: 'Models/X' }, /registries\/0\/repository/);
  bad({ ...sub, channel: '-x' }, /registries\/0\/channel/);
  bad({ ...sub, pollSeconds: 0 }, /registries\/0\/pollSeconds/);
  bad({ ...sub, auth: { basicFile: 'a', bearerTokenFile: 'b' } }, /registries\/0\/auth/);
  bad({ ...sub, auth: { password: 'hunter2' } }, /registries\/0\/auth/);
  bad({ ...sub, extraHosts: ['storage.enclave/path'] }, /registries\/0\/extraHosts/);
  t.throws(() => configFromDocument({ ...minimal, registries: [sub, { ...sub, url: 'https://registry.enclave:5000/' }] }, '/c', 'x'), {
    code: 'CONFIG_INVALID',
    path: 'registries/1',
  });
});

t.test('the newest tag of a channel is the highest sequence, as a number', async (t) => {
  t.same(latestTag(['stable-9', 'stable-10', 'beta-99', 'stable-2', 'sha256-abc', 'stable-x', 'stable-07', 'stable-'], 'stable'), {
    tag: 'stable-10',
    sequence: 10,
  });
  t.equal(latestTag(['beta-1'], 'stable'), undefined);
  t.equal(latestTag(['stable-99999999999999999999'], 'stable'), undefined, 'a sequence past 2^53 is not a sequence');
  t.same(latestTag(['stable-beta-3', 'stable-1'], 'stable-beta'), { tag: 'stable-beta-3', sequence: 3 });
});

t.test('after failures the wait doubles up to the ceiling, and is the interval again once a look succeeds', async (t) => {
  t.equal(nextPollSeconds(30, 0), 30);
  t.equal(nextPollSeconds(30, 1), 60);
  t.equal(nextPollSeconds(30, 3), 240);
  t.equal(nextPollSeconds(30, 50), MAX_BACKOFF_SECONDS);
  t.equal(nextPollSeconds(3600, 5), 3600, 'never shorter than the interval');
});

const manifest = (extra: Partial<Manifest> = {}): Manifest => ({
  schema: 'airlock.bundle/v1',
  id: 'm-1',
  name: 'meta/llama',
  kind: 'nim-cache',
  channel: 'stable',
  sequence: 1,
  created: '2026-01-01T00:00:00Z',
  profiles: [],
  images: [{ ref: 'nvcr.io/nim/meta/llama:1.0', id: `sha256:${'c'.repeat(64)}`, archive: 'images/nim.tar', size: 10, sha256: 'd'.repeat(64) }],
  files: [
    { path: 'a/config.json', size: 3, sha256: 'a'.repeat(64) },
    { path: 'a/link', type: 'symlink', target: 'config.json' },
    { path: 'a/old.bin', size: 5, sha256: 'b'.repeat(64), omitted: true },
    { path: 'a/same.json', size: 3, sha256: 'a'.repeat(64) },
  ],
  ...extra,
});

t.test('the artifact lists the carried files; what a registry serves is held to the signed manifest', async (t) => {
  const m = manifest();
  const bytes = Buffer.from(JSON.stringify(m));
  const images = { 'images/nim.tar': `nim/meta/llama@sha256:${'e'.repeat(64)}` };
  const doc = parseBundleArtifact(bundleArtifact(bytes, 'f'.repeat(64), m, images), 'x', 1 << 20);
  t.same(
    doc.layers.map((l) => l.annotations?.['org.opencontainers.image.title']),
    ['a/config.json', 'a/same.json'],
    'no layer for a symlink or an omitted file; duplicates kept',
  );
  t.same(checkArtifact(doc, m, 'x'), images);
  t.throws(() => checkArtifact({ ...doc, layers: doc.layers.slice(1) }, m, 'x'), { code: 'REGISTRY_MISMATCH' }, 'a file missing from the layers');
  const swapped = { ...doc, layers: doc.layers.map((l, i) => (i === 0 ? { ...l, digest: `sha256:${'9'.repeat(64)}` } : l)) };
  t.throws(() => checkArtifact(swapped, m, 'x'), { code: 'REGISTRY_MISMATCH' }, 'a layer with another digest');
  t.throws(() => checkArtifact({ ...doc, annotations: {} }, m, 'x'), { code: 'REGISTRY_MISMATCH', message: /does not say where image/ });
  t.throws(() => checkArtifact({ ...doc, annotations: { 'vnd.airlock.image.images/nim.tar': 'UPPER/case@sha256:1' } }, m, 'x'), {
    code: 'REGISTRY_MISMATCH',
  });
  t.throws(() => parseBundleArtifact(Buffer.from(JSON.stringify({ ...doc, artifactType: 'application/x' })), 'x', 1 << 20), {
    code: 'REGISTRY_MISMATCH',
  });
  t.throws(() => parseBundleArtifact(bundleArtifact(bytes, 'f'.repeat(64), m, images), 'x', 100), { code: 'MANIFEST_TOO_LARGE' });
  t.throws(() => parseManifestDocument(Buffer.from('{"schemaVersion":2}'), 'x'), { code: 'REGISTRY_MISMATCH' });
});

t.test('signature layers: only signature files with plain names are read', async (t) => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 10 };
  const sigs = [
    { name: 'bob.sig', digest: `sha256:${'2'.repeat(64)}`, size: 300 },
    { name: 'alice.sig', digest: `sha256:${'3'.repeat(64)}`, size: 300 },
  ];
  const doc = parseManifestDocument(signaturesArtifact(subject, sigs), 'x');
  t.same(
    signatureLayers(doc).map((s) => s.name),
    ['alice.sig', 'bob.sig'],
  );
  t.ok(signaturesArtifact(subject, [...sigs].reverse()).equals(signaturesArtifact(subject, sigs)), 'the same set, the same bytes');
  const hostile = { ...doc, layers: [...doc.layers, { ...doc.layers[0]!, annotations: { 'org.opencontainers.image.title': '../../etc/x.sig' } }] };
  t.same(signatureLayers(hostile).length, 2, 'a name with a path is not read');
});

t.test('images go to the path of their reference', async (t) => {
  t.same(imageRepositoryFor('nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3'), { repository: 'nim/meta/llama-3.1-8b-instruct', tag: '1.3.3' });
  t.same(imageRepositoryFor('localhost:5000/x/y@sha256:abc'), { repository: 'x/y' });
  t.same(imageRepositoryFor('busybox:1.36'), { repository: 'library/busybox', tag: '1.36' });
  t.same(imageRepositoryFor('airlock/fake-nim:t-1'), { repository: 'airlock/fake-nim', tag: 't-1' });
  t.equal(imageRepositoryFor('Bad/Name'), undefined);
});
