// Pure format rules: path safety, symlink resolution, manifest semantics.
import t from 'tap';
import { parseManifest, manifestProblems, serializeManifest, type Manifest } from '../src/format/manifest.js';
import { pathProblem, resolveLinkTarget } from '../src/format/paths.js';
import { bundleBaseName } from '../src/format/layout.js';
import { manifestFor, defaultFiles } from './helpers/bundle-builder.js';

t.test('pathProblem refuses every unsafe shape', async (t) => {
  for (const bad of ['', '/abs', 'a/../b', '..', './a', 'a//b', 'a/', 'a\\b', 'a\0b', 'C:/x', 'a/\u0001b', 'x'.repeat(256)]) {
    t.ok(pathProblem(bad), `refuses ${JSON.stringify(bad)}`);
  }
  for (const good of ['a', 'a/b.c', 'ngc/hub/models--nim--meta--llama-3_1-8b-instruct/blobs/0123', '.hidden/x', 'a..b']) {
    t.equal(pathProblem(good), undefined, `accepts ${good}`);
  }
});

t.test('resolveLinkTarget stays inside the tree', async (t) => {
  t.equal(resolveLinkTarget('snap/tag/config.json', '../../blobs/abc'), 'blobs/abc');
  t.equal(resolveLinkTarget('a', '../x'), undefined);
  t.equal(resolveLinkTarget('a/b', '/etc/passwd'), undefined);
  t.equal(resolveLinkTarget('a/b', '../../x'), undefined);
});

t.test('manifest semantics', async (t) => {
  const m = manifestFor(defaultFiles()) as unknown as Manifest;
  t.same(manifestProblems(m).items, [], 'a sound manifest has no problems');
  const parsed = parseManifest(serializeManifest(m));
  t.equal(parsed.files.length, 4);

  const loop = { ...m, files: [...m.files, { path: 'l1', type: 'symlink', target: 'l2' }, { path: 'l2', type: 'symlink', target: 'l1' }] } as Manifest;
  t.equal(manifestProblems(loop).items[0]?.code, 'BAD_SYMLINK', 'a symlink loop is refused');

  const fileAndDir = { ...m, files: [...m.files, { path: 'config.json/x', size: 0, sha256: 'e'.repeat(64) }] } as Manifest;
  t.equal(manifestProblems(fileAndDir).items[0]?.code, 'DUPLICATE_PATH', 'a path listed as a file and as a directory is refused');

  const dangling = { ...m, files: [...m.files, { path: 'dangling', type: 'symlink', target: 'nope' }] } as Manifest;
  t.equal(manifestProblems(dangling).items[0]?.code, 'BAD_SYMLINK', 'a symlink to nothing listed is refused');

  t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, extra: 1 }))), { code: 'MANIFEST_INVALID' }, 'unknown fields are refused');
  t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, sequence: -1 }))), { code: 'MANIFEST_INVALID' });
  t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, files: [{ path: 'a', size: 1, sha256: 'ABC' }] }))), { code: 'MANIFEST_INVALID' }, 'uppercase or short hex is refused');
  t.throws(() => serializeManifest({ ...m, kind: 'other' } as unknown as Manifest), { code: 'MANIFEST_INVALID' }, 'airlock never writes an invalid manifest');
});

t.test('bundle file names', async (t) => {
  t.equal(bundleBaseName('llama-5.airlock.tar'), 'llama-5');
  t.equal(bundleBaseName('llama-5.airlock.tar.003'), 'llama-5');
  t.equal(bundleBaseName('llama-5.airlock.parts.json'), 'llama-5');
  t.equal(bundleBaseName('llama.tar'), undefined);
});
