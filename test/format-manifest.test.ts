// Pure format rules: path safety, symlink resolution, manifest semantics.
import t from 'tap';
import { parseManifest, manifestProblems, serializeManifest, type Manifest } from '../src/format/manifest.js';
import { pathProblem } from '../src/format/paths.js';
import { impliedFolders, PathTree } from '../src/format/path-tree.js';
import { parseRfc3339 } from '../src/format/time.js';
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

t.test('the path trie: conflicts by kind, folders implied, linear on deep paths', async (t) => {
  const tree = new PathTree<number>();
  t.equal(tree.insert('a/b/c', 1).kind, 'inserted');
  t.equal(tree.insert('a/b/c', 2).kind, 'duplicate');
  t.equal(tree.insert('a/b', 3).kind, 'is-directory', 'a folder of other entries cannot be an entry');
  t.equal(tree.insert('a/b/c/d', 4).kind, 'below-entry', 'a file cannot hold children');
  t.equal(tree.find('a/b')?.hasChildren, true);
  t.equal(tree.find('a/x'), undefined);
  t.same(impliedFolders(['x/y/z', 'x/w', 'v']), ['x', 'x/y']);
  // 2,000 paths of 120 segments each: every ancestor as a string would be 240,000 strings of up to 240 bytes.
  const deep = Array.from({ length: 2000 }, (_, i) => `${i}/${'s/'.repeat(118)}leaf`);
  t.equal(impliedFolders(deep).length, 2000 * 119);
});

t.test('RFC 3339 times are read strictly', async (t) => {
  t.equal(parseRfc3339('2026-01-01T00:00:00Z'), Date.UTC(2026, 0, 1));
  t.equal(parseRfc3339('2026-01-01T01:30:00+01:30'), Date.UTC(2026, 0, 1));
  t.equal(parseRfc3339('2024-02-29T12:00:00.250Z'), Date.UTC(2024, 1, 29, 12, 0, 0, 250));
  for (const bad of [
    '2023-02-29T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01',
    'yesterday',
  ]) {
    t.equal(parseRfc3339(bad), undefined, bad);
  }
});

t.test('manifest semantics', async (t) => {
  const m = manifestFor(defaultFiles()) as unknown as Manifest;
  t.same(manifestProblems(m).items, [], 'a sound manifest has no problems');
  const parsed = parseManifest(serializeManifest(m));
  t.equal(parsed.files.length, 4);

  const loop = {
    ...m,
    files: [...m.files, { path: 'l1', type: 'symlink', target: 'l2' }, { path: 'l2', type: 'symlink', target: 'l1' }],
  } as Manifest;
  t.equal(manifestProblems(loop).items[0]?.code, 'BAD_SYMLINK', 'a symlink loop is refused');

  const fileAndDir = { ...m, files: [...m.files, { path: 'config.json/x', size: 0, sha256: 'e'.repeat(64) }] } as Manifest;
  t.equal(manifestProblems(fileAndDir).items[0]?.code, 'DUPLICATE_PATH', 'a path listed as a file and as a directory is refused');

  const dangling = { ...m, files: [...m.files, { path: 'dangling', type: 'symlink', target: 'nope' }] } as Manifest;
  t.equal(manifestProblems(dangling).items[0]?.code, 'BAD_SYMLINK', 'a symlink to nothing listed is refused');

  t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, extra: 1 }))), { code: 'MANIFEST_INVALID' }, 'unknown fields are refused');
  t.throws(() => parseManifest(Buffer.from(JSON.stringify({ ...m, sequence: -1 }))), { code: 'MANIFEST_INVALID' });
  t.throws(
    () => parseManifest(Buffer.from(JSON.stringify({ ...m, files: [{ path: 'a', size: 1, sha256: 'ABC' }] }))),
    { code: 'MANIFEST_INVALID' },
    'uppercase or short hex is refused',
  );
  t.throws(
    () => serializeManifest({ ...m, kind: 'other' } as unknown as Manifest),
    { code: 'MANIFEST_INVALID' },
    'airlock never writes an invalid manifest',
  );
});

t.test('bundle file names', async (t) => {
  t.equal(bundleBaseName('llama-5.airlock.tar'), 'llama-5');
  t.equal(bundleBaseName('llama-5.airlock.tar.003'), 'llama-5');
  t.equal(bundleBaseName('llama-5.airlock.parts.json'), 'llama-5');
  t.equal(bundleBaseName('llama.tar'), undefined);
});
