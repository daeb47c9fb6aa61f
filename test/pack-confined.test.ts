// Issue 11 §1 and §3 on the connected side: pack reads only SOURCE, and nothing it opens can block it. Files and
// folders swapped between the walk and the open (for a FIFO, a symlink out of SOURCE, another file or folder)
// fail with SOURCE_INVALID naming the path; --image-archive and --against that are FIFOs or links are refused at
// once. Each case swaps real entries in real folders between the two phases (scanSource, then writePayload).
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { scanSource } from '../src/bundle/source-scan.js';
import { writePayload } from '../src/bundle/write-dir.js';
import { isAirlockError } from '../src/errors.js';
import { HashPool } from '../src/hash/hash-pool.js';
import { airlock } from './helpers/cli.js';
import { packArgs } from './helpers/fixtures.js';

const run = promisify(execFile);

/** Walk `src`, let `swap` change the tree, then pack what was walked; resolves to the error (or undefined). */
async function swapBetweenWalkAndOpen(t: Test, src: string, swap: () => Promise<void>): Promise<unknown> {
  const tree = await scanSource(src);
  const pool = new HashPool(2);
  t.teardown(async () => {
    await pool.close();
    await tree.close();
  });
  await swap();
  const out = path.join(path.dirname(src), `out-${Math.random().toString(16).slice(2)}`);
  return writePayload(out, tree, { pool }).then(
    () => undefined,
    (err: unknown) => err,
  );
}

function tree(t: Test) {
  const dir = t.testdir({
    src: { 'a.bin': 'inside a\n', sub: { 'b.bin': 'inside b\n' } },
    outside: { 'a.bin': 'SECRET a\n', 'b.bin': 'SECRET b\n' },
  });
  return { dir, src: path.join(dir, 'src'), outside: path.join(dir, 'outside') };
}

function assertRefused(t: Test, err: unknown, where: string): void {
  t.ok(isAirlockError(err), `an airlock error (${String(err)})`);
  t.equal(isAirlockError(err) ? err.code : undefined, 'SOURCE_INVALID');
  t.equal(isAirlockError(err) ? err.path : undefined, where, 'names the path');
}

t.test('a file swapped for a FIFO after the walk fails at once instead of blocking a worker', async (t) => {
  const { src } = tree(t);
  const err = await swapBetweenWalkAndOpen(t, src, async () => {
    await fsp.rm(path.join(src, 'a.bin'));
    await run('mkfifo', [path.join(src, 'a.bin')]);
  });
  assertRefused(t, err, 'a.bin');
});

t.test('a file swapped for a symlink out of SOURCE after the walk is refused, not followed', async (t) => {
  const { src, outside } = tree(t);
  const err = await swapBetweenWalkAndOpen(t, src, async () => {
    await fsp.rm(path.join(src, 'a.bin'));
    await fsp.symlink(path.join(outside, 'a.bin'), path.join(src, 'a.bin'));
  });
  assertRefused(t, err, 'a.bin');
});

t.test('a file replaced by another regular file after the walk is refused (not the file that was walked)', async (t) => {
  const { src, outside } = tree(t);
  const err = await swapBetweenWalkAndOpen(t, src, () => fsp.rename(path.join(outside, 'a.bin'), path.join(src, 'a.bin')));
  assertRefused(t, err, 'a.bin');
});

t.test('a sub-folder swapped for a symlink out of SOURCE after the walk is refused, not followed', async (t) => {
  const { src, outside } = tree(t);
  const err = await swapBetweenWalkAndOpen(t, src, async () => {
    await fsp.rename(path.join(src, 'sub'), path.join(src, 'sub.old'));
    await fsp.symlink(outside, path.join(src, 'sub'));
  });
  assertRefused(t, err, 'sub');
});

t.test('a sub-folder replaced by another real folder after the walk is refused (not the folder that was walked)', async (t) => {
  const { src, outside } = tree(t);
  const err = await swapBetweenWalkAndOpen(t, src, async () => {
    await fsp.rename(path.join(src, 'sub'), path.join(src, 'sub.old'));
    await fsp.rename(outside, path.join(src, 'sub'));
  });
  assertRefused(t, err, 'sub');
});

t.test('files are read through the descriptors opened from the walk, even once their folder is renamed', async (t) => {
  const { src, dir } = tree(t);
  const walked = await scanSource(src);
  const pool = new HashPool(2);
  t.teardown(async () => {
    await pool.close();
    await walked.close();
  });
  // SOURCE itself moves away and an impostor takes its path: the walk's handles still name the real tree.
  await fsp.rename(src, path.join(dir, 'moved'));
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'a.bin'), 'impostor\n');
  const entries = await writePayload(path.join(dir, 'out'), walked, { pool });
  t.same(
    entries.map((e) => e.path),
    ['a.bin', 'sub/b.bin'],
  );
  t.equal(await fsp.readFile(path.join(dir, 'out', 'payload', 'a.bin'), 'utf8'), 'inside a\n');
});

t.test('an --image-archive that is a FIFO is refused at once (USAGE), never waited on', async (t) => {
  const dir = t.testdir({});
  await run('mkfifo', [path.join(dir, 'nim.tar')]);
  const res = await airlock(packArgs({ fixture: 'model-dir', images: [path.join(dir, 'nim.tar')] }, path.join(dir, 'out')));
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'USAGE');
  t.match(res.stderr, 'nim.tar', 'names the archive');
  t.same((await fsp.readdir(dir)).sort(), ['nim.tar'], 'nothing written');
});

t.test('an --image-archive that is a symlink is refused (USAGE), not followed', async (t) => {
  const dir = t.testdir({ 'real.tar': 'not even a tar', 'nim.tar': t.fixture('symlink', 'real.tar') });
  const res = await airlock(packArgs({ fixture: 'model-dir', images: [path.join(dir, 'nim.tar')] }, path.join(dir, 'out')));
  t.equal(res.errorCode, 'USAGE');
  t.match(res.stderr, 'nim.tar');
});

t.test('an --against inventory that is a FIFO is refused at once (CONFIG_INVALID), never waited on', async (t) => {
  const dir = t.testdir({});
  await run('mkfifo', [path.join(dir, 'inventory.json')]);
  const res = await airlock(packArgs({ fixture: 'model-dir', against: path.join(dir, 'inventory.json') }, path.join(dir, 'out')));
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'CONFIG_INVALID');
  t.match(res.stderr, 'inventory.json');
});

t.test('an --against inventory that is a symlink is refused (CONFIG_INVALID), not followed', async (t) => {
  const inventory = JSON.stringify({ schema: 'airlock.inventory/v1', created: '2026-01-01T00:00:00Z', content: [], bundles: [] });
  const dir = t.testdir({ 'real.json': inventory, 'inventory.json': t.fixture('symlink', 'real.json') });
  const res = await airlock(packArgs({ fixture: 'model-dir', against: path.join(dir, 'inventory.json') }, path.join(dir, 'out')));
  t.equal(res.errorCode, 'CONFIG_INVALID');
  const ok = await airlock(packArgs({ fixture: 'model-dir', against: path.join(dir, 'real.json') }, path.join(dir, 'out')));
  t.equal(ok.exitCode, 0, `the file itself is accepted (${ok.stderr.trim()})`);
});
