// Reading a copy of a part off a stick (src/spool/copy-part.ts), against hostile drops on a real file system: a
// part rewritten or swapped while it is read, a FIFO or symlink in its place, a folder swapped for a link, a
// copy cut short. What is kept is always exactly what was hashed, and every refusal has its code.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../src/errors.js';
import { CopyJobs } from '../src/spool/copy-part.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function setup(t: Test) {
  const root = t.testdir({ stick: {}, spool: {} });
  const file = path.join(root, 'stick', 'x.airlock.tar.000');
  const bytes = randomBytes(3 * MiB);
  writeFileSync(file, bytes);
  // Written a while ago, as on a stick: a write now is a change (timestamps are coarser than this test is fast).
  await fsp.utimes(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  return { root, file, bytes, dest: path.join(root, 'spool', '.tmp-x'), jobs: new CopyJobs() };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof AirlockError ? err.code : `not an AirlockError: ${(err as Error).message}`;
  }
}

t.test('a whole copy: hashed as it is written, fsynced, the same bytes', async (t) => {
  const { root, file, bytes, dest, jobs } = await setup(t);
  const id = await jobs.open({ root, file, size: bytes.length, dest });
  let p = await jobs.step(id, MiB);
  t.same(p, { bytesDone: MiB, done: false });
  while (!p.done) p = await jobs.step(id, MiB);
  t.equal(p.sha256, sha(bytes));
  t.equal(p.changed, false);
  t.same(readFileSync(dest), bytes);
  const dup = await jobs.open({ root, file, size: bytes.length });
  t.match(await jobs.step(dup, 10 * MiB), { done: true, sha256: sha(bytes) }, 'a duplicate is only hashed');
});

t.test('a part rewritten in place while it is read: what was read is what is hashed and kept, and the change is noticed', async (t) => {
  const { root, file, bytes, dest, jobs } = await setup(t);
  const id = await jobs.open({ root, file, size: bytes.length, dest });
  await jobs.step(id, MiB);
  const fh = await fsp.open(file, 'r+');
  await fh.write(Buffer.from('tampered'), 0, 8, 2 * MiB);
  await fh.close();
  let p = await jobs.step(id, MiB);
  while (!p.done) p = await jobs.step(id, MiB);
  t.equal(p.changed, true, 'the mtime moved while it was read');
  t.not(p.sha256, sha(bytes), 'the digest no longer matches the index: the spool refuses it');
  t.equal(p.sha256, sha(readFileSync(dest)), 'and the copy holds exactly the bytes hashed');
});

t.test('a part swapped for another file mid-read: the file opened is the one read to the end', async (t) => {
  const { root, file, bytes, dest, jobs } = await setup(t);
  const id = await jobs.open({ root, file, size: bytes.length, dest });
  await jobs.step(id, MiB);
  const evil = path.join(root, 'stick', 'evil');
  writeFileSync(evil, randomBytes(bytes.length));
  await fsp.rename(evil, file);
  let p = await jobs.step(id, MiB);
  while (!p.done) p = await jobs.step(id, MiB);
  t.equal(p.sha256, sha(bytes), 'the original bytes, read through the descriptor');
  t.same(readFileSync(dest), bytes);
});

t.test('cut short while read: PART_CORRUPT, the partial copy removed', async (t) => {
  const { root, file, bytes, dest, jobs } = await setup(t);
  const id = await jobs.open({ root, file, size: bytes.length, dest });
  await jobs.step(id, MiB);
  await fsp.truncate(file, MiB + 10);
  t.equal(await codeOf(jobs.step(id, 4 * MiB)), 'PART_CORRUPT');
  t.notOk(existsSync(dest), 'nothing half-copied is left');
});

t.test('hostile copies are refused when opened, never read or waited on', async (t) => {
  const { root, file, bytes, dest, jobs } = await setup(t);
  const fifo = path.join(root, 'stick', 'fifo.airlock.tar.001');
  execFileSync('mkfifo', [fifo]);
  t.equal(await codeOf(jobs.open({ root, file: fifo, size: 10, dest })), 'WRONG_TYPE', 'a FIFO (opened without blocking)');
  const link = path.join(root, 'stick', 'link.airlock.tar.002');
  await fsp.symlink(file, link);
  t.equal(await codeOf(jobs.open({ root, file: link, size: bytes.length, dest })), 'WRONG_TYPE', 'a symlink');
  t.equal(await codeOf(jobs.open({ root, file, size: bytes.length + 1, dest })), 'PART_CORRUPT', 'not the size the index lists');
  t.equal(await codeOf(jobs.open({ root: path.join(root, 'spool'), file, size: bytes.length, dest })), 'NOT_A_BUNDLE', 'not below its root');
  // The stick's folder swapped for a link to somewhere else: refused, not followed.
  await fsp.rename(path.join(root, 'stick'), path.join(root, 'real'));
  await fsp.symlink(path.join(root, 'real'), path.join(root, 'stick'));
  t.equal(await codeOf(jobs.open({ root, file, size: bytes.length, dest })), 'WRONG_TYPE', 'a folder on the way swapped for a symlink');
  t.notOk(existsSync(dest), 'no copy was started');
});
