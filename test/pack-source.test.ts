// What pack accepts from a source tree, what it refuses (SOURCE_INVALID), and its usage errors (exit 2).
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FileEntry, Manifest } from '../src/format/manifest.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, packArgs, packFixture } from './helpers/fixtures.js';

const run = promisify(execFile);

/** A small model dir with one safe relative symlink, built fresh in `dir`. */
async function modelTree(dir: string): Promise<string> {
  const src = path.join(dir, 'src');
  await fsp.mkdir(path.join(src, 'blobs'), { recursive: true });
  await fsp.mkdir(path.join(src, 'snapshots/main'), { recursive: true });
  await fsp.writeFile(path.join(src, 'blobs/aaaa'), 'weights');
  await fsp.symlink('../../blobs/aaaa', path.join(src, 'snapshots/main/model.bin'));
  return src;
}

async function expectRefusal(t: Test, args: string[], code: string, exit: number): Promise<void> {
  const res = await airlock(args);
  t.equal(res.exitCode, exit, `exit ${exit} (${res.stderr.trim().split('\n')[0]})`);
  t.equal(res.errorCode, code, `code ${code}`);
  // With --json the refusal is the one document on stdout, with the same code; without it stdout stays empty.
  if (args.includes('--json')) t.match(JSON.parse(res.stdout), { ok: false, error: { code } }, 'the error as JSON on stdout');
  else t.equal(res.stdout, '', 'nothing on stdout');
}

const hostile: Array<{ name: string; make: (src: string) => Promise<void> }> = [
  { name: 'a symlink escaping the tree', make: (src) => fsp.symlink('../../../outside.bin', path.join(src, 'snapshots/main/escape.bin')) },
  { name: 'an absolute symlink', make: (src) => fsp.symlink('/etc/passwd', path.join(src, 'snapshots/main/passwd')) },
  { name: 'a FIFO', make: async (src) => void (await run('mkfifo', [path.join(src, 'blobs/pipe')])) },
  { name: 'a symlink to a directory', make: (src) => fsp.symlink('../../blobs', path.join(src, 'snapshots/main/blobdir')) },
  { name: 'a dangling symlink', make: (src) => fsp.symlink('../../blobs/missing', path.join(src, 'snapshots/main/gone')) },
  {
    name: 'a symlink loop',
    make: async (src) => {
      await fsp.symlink('b', path.join(src, 'snapshots/main/a'));
      await fsp.symlink('a', path.join(src, 'snapshots/main/b'));
    },
  },
  // Resolved against the walked tree as the kernel would, not lexically: each of these passes a normalising check.
  {
    name: 'a symlink through a folder that does not exist',
    make: (src) => fsp.symlink('../../gone/../blobs/aaaa', path.join(src, 'snapshots/main/via-gone')),
  },
  {
    name: 'a symlink through an empty folder (not carried, so it would dangle once installed)',
    make: async (src) => {
      await fsp.mkdir(path.join(src, 'hollow'));
      await fsp.symlink('../../hollow/../blobs/aaaa', path.join(src, 'snapshots/main/via-hollow'));
    },
  },
  { name: 'a symlink through a file', make: (src) => fsp.symlink('../../blobs/aaaa/../aaaa', path.join(src, 'snapshots/main/via-file')) },
  { name: 'a file name with a backslash', make: (src) => fsp.writeFile(path.join(src, 'blobs/evil\\name'), 'x') },
  { name: 'a file name with a control character', make: (src) => fsp.writeFile(path.join(src, 'blobs/bell\x07'), 'x') },
];

for (const h of hostile) {
  for (const format of ['dir', 'tar'] as const) {
    t.test(`refuses ${h.name} (${format})`, async (t) => {
      const dir = t.testdir();
      const src = await modelTree(dir);
      await h.make(src);
      const out = path.join(dir, 'out');
      await expectRefusal(t, packArgs({ source: src, format }, out), 'SOURCE_INVALID', 1);
      t.same(await fsp.readdir(dir), ['src'], 'the source is refused before anything is written');
    });
  }
}

t.test('every problem is reported, not just the first', async (t) => {
  const dir = t.testdir();
  const src = await modelTree(dir);
  await fsp.symlink('/etc/passwd', path.join(src, 'abs'));
  await run('mkfifo', [path.join(src, 'fifo')]);
  const res = await airlock(packArgs({ source: src }, path.join(dir, 'out')));
  t.equal(res.errorCode, 'SOURCE_INVALID');
  t.match(res.stderr, /and 1 more/);
});

t.test('safe symlinks, chains of them, and executables', async (t) => {
  const dir = t.testdir();
  const src = await modelTree(dir);
  await fsp.symlink('model.bin', path.join(src, 'snapshots/main/alias.bin'));
  await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await fsp.writeFile(path.join(src, 'empty'), '');
  await fsp.mkdir(path.join(src, 'empty-dir'));
  const packed = await packFixture(t, { source: src });
  const m = JSON.parse(await fsp.readFile(path.join(packed.location, 'airlock.json'), 'utf8')) as Manifest;
  t.same(
    m.files.map((f) => (f.type === 'symlink' ? [f.path, f.target] : [f.path, (f as FileEntry).mode ?? '0644'])),
    [
      ['blobs/aaaa', '0644'],
      ['empty', '0644'],
      ['run.sh', '0755'],
      ['snapshots/main/alias.bin', 'model.bin'],
      ['snapshots/main/model.bin', '../../blobs/aaaa'],
    ],
  );
  t.equal((await fsp.stat(path.join(packed.location, 'payload/run.sh'))).mode & 0o777, 0o755, 'executable copied executable');
  await t.rejects(fsp.lstat(path.join(packed.location, 'payload/snapshots')), 'no symlink (nor its folder) in the payload');
  const tar = await packFixture(t, { source: src, format: 'tar' });
  const { stdout } = await run('tar', ['-tvf', tar.location]);
  t.match(stdout, /^-rwxr-xr-x .* payload\/run\.sh$/m, 'executable is 0755 in the tar');
  t.notMatch(stdout, /^l/m, 'no symlink entries in the tar');
  t.notMatch(stdout, /snapshots/, 'symlinks live only in the manifest');
});

t.test('usage errors exit 2', async (t) => {
  const dir = t.testdir();
  const src = fixturePath('model-dir');
  const out = path.join(dir, 'out');
  const base = ['pack', src, '--out', out, '--name', 'meta/llama-3.1-8b-instruct', '--kind', 'model-dir'];
  const without = (flag: string) => {
    const i = base.indexOf(flag);
    return [...base.slice(0, i), ...base.slice(i + 2)];
  };
  const cases: Array<[string, string[]]> = [
    ['no SOURCE', ['pack', '--out', out, '--name', 'a', '--kind', 'model-dir']],
    ['two SOURCEs', [...base, src]],
    ['missing --out', without('--out')],
    ['missing --name', without('--name')],
    ['missing --kind', without('--kind')],
    ['unknown kind', [...without('--kind'), '--kind', 'weights']],
    ['bad name', [...without('--name'), '--name', 'Meta/Llama']],
    ['bad channel', [...base, '--channel', '-x']],
    ['unknown format', [...base, '--format', 'zip']],
    ['split with dir format', [...base, '--format', 'dir', '--split-size', '4G']],
    ['bad split size', [...base, '--split-size', 'huge']],
    ['bad sequence', [...base, '--sequence', '-3']],
    ['bad expiry', [...base, '--expires', 'next week']],
    ['expiry in the past', [...base, '--expires', '2001-01-01T00:00:00Z']],
    ['bad profile id', [...base, '--profile', 'abc']],
    ['unknown option', [...base, '--frobnicate']],
    ['SOURCE missing', ['pack', path.join(dir, 'nope'), ...base.slice(2)]],
    ['SOURCE is a file', ['pack', path.join(src, 'config.json'), ...base.slice(2)]],
    ['missing image archive', [...base, '--image-archive', path.join(dir, 'nope.tar')]],
  ];
  for (const [name, args] of cases) {
    await t.test(name, (t) => expectRefusal(t, args, 'USAGE', 2));
  }
  t.same(await fsp.readdir(dir), [], 'nothing was written');
});

t.test('DEST must be absent or empty for the dir form, and never inside SOURCE', async (t) => {
  const dir = t.testdir({ full: { 'x.txt': 'keep me' }, empty: {} });
  const args = (out: string, source = fixturePath('model-dir')) => packArgs({ source, kind: 'model-dir' }, out);
  await expectRefusal(t, args(path.join(dir, 'full')), 'USAGE', 2);
  t.equal(await fsp.readFile(path.join(dir, 'full/x.txt'), 'utf8'), 'keep me', 'existing content untouched');
  const res = await airlock(args(path.join(dir, 'empty')));
  t.equal(res.exitCode, 0, 'an empty DEST is filled');
  t.ok((await fsp.stat(path.join(dir, 'empty/airlock.json'))).isFile());
  const src = await modelTree(path.join(dir, 'tree'));
  await expectRefusal(t, args(path.join(src, 'bundle'), src), 'USAGE', 2);
  await expectRefusal(t, packArgs({ source: src, format: 'tar' }, src), 'USAGE', 2);
  t.same((await fsp.readdir(src)).sort(), ['blobs', 'snapshots'], 'SOURCE untouched');
});

t.test('--expires, --channel, --sequence and --served-model-name reach the manifest', async (t) => {
  const packed = await packFixture(t, { fixture: 'model-dir', channel: 'canary', sequence: 42, expires: '12h', servedModelName: 'llama-3.1-8b' });
  const m = JSON.parse(await fsp.readFile(path.join(packed.location, 'airlock.json'), 'utf8')) as Manifest;
  t.equal(m.channel, 'canary');
  t.equal(m.sequence, 42);
  t.equal(m.servedModelName, 'llama-3.1-8b');
  t.match(m.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created is RFC 3339 without milliseconds');
  t.equal(Date.parse(m.expires ?? '') - Date.parse(m.created), 12 * 3600 * 1000, 'expires 12h after created');
  t.match(m.id, /^meta_llama-3\.1-8b-instruct-42-[0-9a-f]{8}$/);
});

t.test('default sequence is the current Unix time', async (t) => {
  const before = Math.floor(Date.now() / 1000);
  const packed = await packFixture(t, { fixture: 'model-dir' });
  const after = Math.floor(Date.now() / 1000);
  const m = JSON.parse(await fsp.readFile(path.join(packed.location, 'airlock.json'), 'utf8')) as Manifest;
  t.ok(m.sequence >= before && m.sequence <= after, `sequence ${m.sequence} within [${before}, ${after}]`);
  t.equal(Date.parse(m.created) / 1000, m.sequence, 'created and sequence agree');
});
