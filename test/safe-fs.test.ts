// The primitives every read of untrusted ground goes through: opens that cannot block on a FIFO or follow a
// swapped-in symlink, directory handles that stay confined when a folder is swapped for a link mid-walk, and a
// removal that never follows a link out of the tree (issue 11: an rm -rf through a swapped folder took the store).
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isAirlockError } from '../src/errors.js';
import { runFileJob } from '../src/hash/file-job.js';
import { DirHandle, withDir } from '../src/safe-fs/dir-handle.js';
import { openRegular, readSmallRegular } from '../src/safe-fs/open-regular.js';
import { removeConfined } from '../src/safe-fs/remove-tree.js';

const codeOf = (err: unknown) => (isAirlockError(err) ? err.code : (err as NodeJS.ErrnoException).code);

t.test('a FIFO where a file should be is refused at once, never waited on', async (t) => {
  const dir = t.testdir({});
  const fifo = path.join(dir, 'x.sig');
  execFileSync('mkfifo', [fifo]);
  const err = await openRegular(fifo, 'signatures/x.sig').catch((e: unknown) => e);
  t.equal(codeOf(err), 'WRONG_TYPE');
  t.equal((err as { path?: string }).path, 'signatures/x.sig');
  t.equal(codeOf(await readSmallRegular(fifo, 'x', 1024).catch((e: unknown) => e)), 'WRONG_TYPE');
  // The hash workers' own open (by name) refuses it too instead of blocking the worker thread.
  t.ok(
    await runFileJob({ file: fifo, limit: 10 }).then(
      () => false,
      () => true,
    ),
    'a file job on a FIFO fails',
  );
});

t.test('a device or a folder where a file should be is refused', async (t) => {
  t.equal(codeOf(await openRegular('/dev/null', 'payload/x').catch((e: unknown) => e)), 'WRONG_TYPE');
  t.equal(codeOf(await openRegular(t.testdir({}), 'payload/x').catch((e: unknown) => e)), 'WRONG_TYPE');
});

t.test('a symlink where a file should be is refused, not followed', async (t) => {
  const dir = t.testdir({ real: 'secret', link: t.fixture('symlink', 'real') });
  t.equal(codeOf(await openRegular(path.join(dir, 'link'), 'link').catch((e: unknown) => e)), 'WRONG_TYPE');
});

t.test('a file replaced after it was listed is refused by its identity', async (t) => {
  const dir = t.testdir({ a: 'first', b: 'second' });
  const seen = await fsp.lstat(path.join(dir, 'a'));
  await fsp.rename(path.join(dir, 'b'), path.join(dir, 'a'));
  const err = await openRegular(path.join(dir, 'a'), 'a', { dev: seen.dev, ino: seen.ino }).catch((e: unknown) => e);
  t.equal(codeOf(err), 'WRONG_TYPE');
});

t.test('a small file over its limit is refused before it is read', async (t) => {
  const dir = t.testdir({ big: 'x'.repeat(100) });
  t.equal(codeOf(await readSmallRegular(path.join(dir, 'big'), 'big', 10, 'MANIFEST_TOO_LARGE').catch((e: unknown) => e)), 'MANIFEST_TOO_LARGE');
  t.equal((await readSmallRegular(path.join(dir, 'big'), 'big', 100)).length, 100);
});

t.test('a folder swapped for a symlink after its parent was opened is refused, never followed', async (t) => {
  const dir = t.testdir({ drop: { sub: { 'f.txt': 'inside' } }, outside: { 'f.txt': 'outside' } });
  await withDir(path.join(dir, 'drop'), async (drop) => {
    await fsp.rename(path.join(dir, 'drop', 'sub'), path.join(dir, 'drop', 'sub-moved'));
    await fsp.symlink(path.join(dir, 'outside'), path.join(dir, 'drop', 'sub'));
    t.equal(codeOf(await drop.openDir('sub').catch((e: unknown) => e)), 'WRONG_TYPE');
    t.equal(codeOf(await drop.openPath('sub').catch((e: unknown) => e)), 'WRONG_TYPE');
    t.equal(codeOf(await drop.openFile('sub').catch((e: unknown) => e)), 'WRONG_TYPE');
  });
});

t.test('names inside a handle stay inside even when the folder is renamed and replaced by a link', async (t) => {
  const dir = t.testdir({ drop: { sub: { 'f.txt': 'inside' } }, outside: { 'f.txt': 'outside' } });
  const drop = await DirHandle.open(path.join(dir, 'drop'));
  const sub = await drop.openDir('sub');
  t.teardown(async () => {
    await sub.close();
    await drop.close();
  });
  await fsp.rename(path.join(dir, 'drop', 'sub'), path.join(dir, 'drop', 'elsewhere'));
  await fsp.symlink(path.join(dir, 'outside'), path.join(dir, 'drop', 'sub'));
  const { fh } = await sub.openFile('f.txt');
  t.equal(await fh.readFile('utf8'), 'inside', 'the opened folder is read, not what its old name points at now');
  await fh.close();
  t.same((await sub.list()).sort(), ['f.txt']);
  t.throws(() => sub.child('../f.txt'), { code: 'BAD_PATH' });
  t.throws(() => sub.child('..'), { code: 'BAD_PATH' });
});

t.test('a confined removal deletes the tree and never what a link inside points at', async (t) => {
  const dir = t.testdir({
    drop: { bundle: { 'airlock.json': '{}', payload: { a: { b: 'x' } } } },
    store: { 'state.json': 'keep me', content: { blob: 'keep' } },
  });
  // A link to the store planted inside the bundle, and one in place of a folder.
  await fsp.symlink(path.join(dir, 'store'), path.join(dir, 'drop', 'bundle', 'payload', 'store-link'));
  await fsp.rm(path.join(dir, 'drop', 'bundle', 'payload', 'a'), { recursive: true });
  await fsp.symlink(path.join(dir, 'store', 'content'), path.join(dir, 'drop', 'bundle', 'payload', 'a'));
  const removed = await withDir(path.join(dir, 'drop'), (drop) => removeConfined(drop, 'bundle'));
  t.equal(removed, 5, 'bundle, airlock.json, payload and the two links');
  t.same(await fsp.readdir(path.join(dir, 'drop')), []);
  t.equal(await fsp.readFile(path.join(dir, 'store', 'state.json'), 'utf8'), 'keep me');
  t.equal(await fsp.readFile(path.join(dir, 'store', 'content', 'blob'), 'utf8'), 'keep');
});

t.test('a confined removal of a bundle that is itself a symlink removes only the link', async (t) => {
  const dir = t.testdir({ drop: {}, store: { 'state.json': 'keep me' } });
  await fsp.symlink(path.join(dir, 'store'), path.join(dir, 'drop', 'bundle'));
  await withDir(path.join(dir, 'drop'), (drop) => removeConfined(drop, 'bundle'));
  t.same(await fsp.readdir(path.join(dir, 'drop')), []);
  t.equal(await fsp.readFile(path.join(dir, 'store', 'state.json'), 'utf8'), 'keep me');
});

t.test('a confined removal refuses a tree nested past its depth limit and leaves it', async (t) => {
  const dir = t.testdir({ drop: {} });
  let p = path.join(dir, 'drop', 'deep');
  await fsp.mkdir(p);
  for (let i = 0; i < 5; i++) await fsp.mkdir((p = path.join(p, 'd')));
  const err = await withDir(path.join(dir, 'drop'), (drop) => removeConfined(drop, 'deep', { maxDepth: 3, maxEntries: 100 })).catch(
    (e: unknown) => e,
  );
  t.equal(codeOf(err), 'IO_ERROR');
  t.ok(await fsp.stat(p), 'the tree is still there');
});

t.test('a file job reads through a descriptor the caller opened and checked', async (t) => {
  const dir = t.testdir({ f: 'hello world' });
  const { fh } = await openRegular(path.join(dir, 'f'), 'f');
  t.teardown(() => fh.close());
  await fsp.rm(path.join(dir, 'f'));
  const r = await runFileJob({ file: 'f', fd: fh.fd, limit: 100 });
  t.equal(r.size, 11, 'the opened file is read even after its name is gone');
  t.equal(r.sha256, 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
  t.equal((await runFileJob({ file: 'f', fd: fh.fd, limit: 5, offset: 6 })).size, 5, 'a region of it too');
});
