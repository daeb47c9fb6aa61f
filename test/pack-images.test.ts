// --image-archive: docker save archives are copied whole, and their image id is the sha256 of the config bytes.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Manifest } from '../src/format/manifest.js';
import { airlock } from './helpers/cli.js';
import { packArgs, packFixture } from './helpers/fixtures.js';

const run = promisify(execFile);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface ImageSpec {
  tags: string[] | null;
}

interface BuiltArchive {
  file: string;
  ids: string[];
}

/**
 * A docker-save archive made with the real tar: each image has a one-file layer tar and a config JSON.
 * legacy: `<hex>.json`, `<hex>/layer.tar`; oci: `blobs/sha256/<hex>`, index.json, oci-layout.
 * `entries` controls the member order (manifest.json first or last), `dotSlash` adds ./ prefixes.
 */
async function dockerArchive(
  dir: string,
  layout: 'legacy' | 'oci',
  images: ImageSpec[],
  opts: { manifestFirst?: boolean; dotSlash?: boolean; corruptConfig?: boolean } = {},
): Promise<BuiltArchive> {
  const root = path.join(dir, `img-${layout}-${Math.random().toString(16).slice(2)}`);
  await fsp.mkdir(path.join(root, 'layer-src'), { recursive: true });
  const members: string[] = [];
  const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const ids: string[] = [];
  for (const [i, img] of images.entries()) {
    await fsp.writeFile(path.join(root, 'layer-src', 'hello.txt'), `layer of image ${i}\n`);
    const layerTmp = path.join(root, `layer${i}.tar`);
    await run('tar', ['-cf', layerTmp, '-C', path.join(root, 'layer-src'), 'hello.txt']);
    const layer = await fsp.readFile(layerTmp);
    await fsp.rm(layerTmp);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: [`IMAGE=${i}`], ExposedPorts: { '8000/tcp': {} } },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
      }),
    );
    const configHex = sha256(config);
    ids.push(`sha256:${configHex}`);
    const stored = opts.corruptConfig ? Buffer.concat([config, Buffer.from(' ')]) : config;
    let configName: string;
    let layerName: string;
    if (layout === 'legacy') {
      configName = `${configHex}.json`;
      layerName = `${sha256(layer)}/layer.tar`;
    } else {
      configName = `blobs/sha256/${configHex}`;
      layerName = `blobs/sha256/${sha256(layer)}`;
    }
    await fsp.mkdir(path.join(root, 'a', path.dirname(configName)), { recursive: true });
    await fsp.mkdir(path.join(root, 'a', path.dirname(layerName)), { recursive: true });
    await fsp.writeFile(path.join(root, 'a', configName), stored);
    await fsp.writeFile(path.join(root, 'a', layerName), layer);
    members.push(configName, layerName);
    manifest.push({ Config: configName, RepoTags: img.tags, Layers: [layerName] });
  }
  await fsp.writeFile(path.join(root, 'a', 'manifest.json'), JSON.stringify(manifest));
  if (layout === 'oci') {
    await fsp.writeFile(path.join(root, 'a', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await fsp.writeFile(path.join(root, 'a', 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    members.push('oci-layout', 'index.json');
  }
  const ordered = opts.manifestFirst ? ['manifest.json', ...members] : [...members, 'manifest.json'];
  const file = path.join(dir, `${layout}-${images.length}.tar`);
  await run('tar', ['-cf', file, '-C', path.join(root, 'a'), ...ordered.map((m) => (opts.dotSlash ? `./${m}` : m))]);
  await fsp.rm(root, { recursive: true });
  return { file, ids };
}

async function manifestOf(location: string): Promise<Manifest> {
  return JSON.parse(await fsp.readFile(path.join(location, 'airlock.json'), 'utf8')) as Manifest;
}

t.test('legacy docker save archive, dir form: copied whole, id from the config bytes', async (t) => {
  const dir = t.testdir();
  const archive = await dockerArchive(dir, 'legacy', [{ tags: ['nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3'] }]);
  const packed = await packFixture(t, { fixture: 'model-store', images: [archive.file] });
  const m = await manifestOf(packed.location);
  const bytes = await fsp.readFile(archive.file);
  t.same(m.images, [
    {
      ref: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3',
      id: archive.ids[0],
      archive: `images/${path.basename(archive.file)}`,
      size: bytes.length,
      sha256: sha256(bytes),
    },
  ]);
  const { stdout } = await run('sha256sum', [path.join(packed.location, 'images', path.basename(archive.file))]);
  t.equal(stdout.slice(0, 64), sha256(bytes), 'images/ holds the archive byte for byte');
  t.equal(packed.totals.imageBytes, bytes.length);
});

t.test('OCI layout, manifest.json first, ./ names, tar form: images come after signatures, before payload', async (t) => {
  const dir = t.testdir();
  const archive = await dockerArchive(dir, 'oci', [{ tags: ['nvcr.io/nim/meta/llama-3.1-8b-instruct:2.0.1'] }], {
    manifestFirst: true,
    dotSlash: true,
  });
  const packed = await packFixture(t, { fixture: 'model-dir', format: 'tar', images: [`${archive.file}=registry.local/llama:2.0.1`] });
  const { stdout } = await run('tar', ['-tf', packed.location]);
  const names = stdout.trim().split('\n');
  t.equal(names[0], 'airlock.json');
  t.equal(names[1], `images/${path.basename(archive.file)}`, 'the image right after the manifest (no signatures here)');
  t.ok(names.slice(2).every((n) => n.startsWith('payload/')));
  const extract = path.join(dir, 'x');
  await fsp.mkdir(extract);
  await run('tar', ['-xf', packed.location, '-C', extract, 'airlock.json']);
  const m = await manifestOf(extract);
  t.equal(m.images[0]?.id, archive.ids[0], 'id is sha256 of the config blob');
  t.equal(m.images[0]?.ref, 'registry.local/llama:2.0.1', 'REF given on the command line wins');
});

t.test('an archive with several images needs REF to pick one', async (t) => {
  const dir = t.testdir();
  const archive = await dockerArchive(dir, 'legacy', [{ tags: ['nvcr.io/nim/a:1'] }, { tags: ['nvcr.io/nim/b:1'] }]);
  const out = path.join(dir, 'out');
  const res = await airlock(packArgs({ fixture: 'model-dir', format: 'tar', images: [archive.file] }, out));
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'USAGE');
  t.same(await fsp.readdir(out), [], 'partial output removed');
  const packed = await packFixture(t, { fixture: 'model-dir', images: [`${archive.file}=nvcr.io/nim/b:1`] });
  const m = await manifestOf(packed.location);
  t.same(
    m.images.map((i) => [i.ref, i.id]),
    [['nvcr.io/nim/b:1', archive.ids[1]]],
  );
});

t.test('an untagged image needs REF', async (t) => {
  const dir = t.testdir();
  const archive = await dockerArchive(dir, 'oci', [{ tags: null }]);
  const res = await airlock(packArgs({ fixture: 'model-dir', images: [archive.file] }, path.join(dir, 'out')));
  t.equal(res.errorCode, 'USAGE');
  const packed = await packFixture(t, { fixture: 'model-dir', images: [`${archive.file}=nim:local`] });
  t.equal((await manifestOf(packed.location)).images[0]?.id, archive.ids[0]);
});

async function refused(t: Test, file: string, format: 'dir' | 'tar'): Promise<void> {
  const dir = path.dirname(file);
  const out = path.join(dir, `out-${format}`);
  const res = await airlock(packArgs({ fixture: 'model-dir', format, images: [file] }, out));
  t.equal(res.exitCode, 1, res.stderr.trim());
  t.equal(res.errorCode, 'SOURCE_INVALID');
  if (format === 'tar') t.same(await fsp.readdir(out), [], 'staging removed from DEST');
  t.notOk(
    (await fsp.readdir(dir)).some((n) => n.includes('partial') || n === 'out-dir'),
    'no partial bundle left',
  );
}

t.test('a config whose bytes do not match its digest name is refused', async (t) => {
  const dir = t.testdir();
  for (const layout of ['legacy', 'oci'] as const) {
    const archive = await dockerArchive(dir, layout, [{ tags: ['x:1'] }], { corruptConfig: true });
    await refused(t, archive.file, 'tar');
    await refused(t, archive.file, 'dir');
  }
});

t.test('not a docker save archive', async (t) => {
  const dir = t.testdir({ 'junk.tar': 'this is not a tar archive at all'.repeat(40), src: { 'a.txt': 'x' } });
  await refused(t, path.join(dir, 'junk.tar'), 'dir');
  await run('tar', ['-cf', path.join(dir, 'plain.tar'), '-C', path.join(dir, 'src'), 'a.txt']);
  await refused(t, path.join(dir, 'plain.tar'), 'tar');
});
