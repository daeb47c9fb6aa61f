// Copies written with O_DIRECT must come out byte for byte as the source, cut to their exact size, and
// fall back to the page cache whenever O_DIRECT cannot take a write; a file job reading ahead must not
// leave reads in flight when it stops early.
import { randomBytes, createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { alignedBuffer, CopyTarget, DIRECT_ALIGN, DIRECT_MIN_BYTES } from '../src/hash/copy-target.js';
import { runFileJob } from '../src/hash/file-job.js';

const run = promisify(execFile);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Whether the file system under `dir` takes O_DIRECT at all (tmpfs before Linux 6.6 does not). */
async function directSupported(dir: string): Promise<boolean> {
  const probe = path.join(dir, '.probe');
  try {
    await (await fsp.open(probe, constants.O_WRONLY | constants.O_CREAT | (constants.O_DIRECT ?? 0), 0o600)).close();
    return constants.O_DIRECT !== undefined;
  } catch {
    return false;
  } finally {
    await fsp.rm(probe, { force: true });
  }
}

/** The open flags of a descriptor as the kernel holds them (octal, from /proc). */
async function openFlags(fd: number): Promise<number> {
  const info = await fsp.readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
  return parseInt(/^flags:\s+([0-7]+)/m.exec(info)![1]!, 8);
}

t.test('an aligned large copy goes around the page cache and is cut to its exact size', async (t) => {
  const dir = t.testdir();
  const direct = await directSupported(dir);
  const data = randomBytes(3 * DIRECT_ALIGN + 123);
  const buf = alignedBuffer(4 * DIRECT_ALIGN);
  data.copy(buf);
  const file = path.join(dir, 'copy');
  const target = await CopyTarget.create(file, 0o640, true);
  await target.write(buf.subarray(0, 2 * DIRECT_ALIGN), 0);
  if (direct) {
    t.ok(target.writesDirect, 'O_DIRECT in use on this file system');
    const fd = (target as unknown as { direct: fsp.FileHandle }).direct.fd;
    t.ok((await openFlags(fd)) & constants.O_DIRECT!, 'the kernel holds the descriptor with O_DIRECT');
  } else {
    t.notOk(target.writesDirect, 'no O_DIRECT here: buffered');
  }
  // The last, short chunk is padded to a whole block on disk; close() trims the padding.
  buf.fill(0xee, data.length);
  await target.write(buf.subarray(2 * DIRECT_ALIGN, data.length), 2 * DIRECT_ALIGN);
  await target.sync();
  await target.close();
  const out = await fsp.readFile(file);
  t.equal(out.length, data.length, 'exact size');
  t.equal(sha(out), sha(data), 'same bytes');
  t.equal((await fsp.stat(file)).mode & 0o777, 0o640);
});

t.test('a write O_DIRECT cannot take goes through the page cache, and so does the rest of the file', async (t) => {
  const dir = t.testdir();
  const data = randomBytes(4 * DIRECT_ALIGN);
  const aligned = alignedBuffer(5 * DIRECT_ALIGN);
  data.copy(aligned);

  // A buffer one byte off its page boundary: the kernel refuses it (EINVAL), the copy goes on buffered.
  const shifted = Buffer.from(aligned.buffer, 1, 4 * DIRECT_ALIGN);
  data.copy(shifted);
  const a = await CopyTarget.create(path.join(dir, 'a'), 0o600, true);
  await a.write(shifted.subarray(0, DIRECT_ALIGN), 0);
  t.notOk(a.writesDirect, 'fell back after the misaligned buffer');
  await a.write(shifted.subarray(DIRECT_ALIGN), DIRECT_ALIGN);
  await a.close();
  t.equal(sha(await fsp.readFile(path.join(dir, 'a'))), sha(data));

  // An unaligned file position (a short read mid-file) also ends direct writing.
  data.copy(aligned);
  const b = await CopyTarget.create(path.join(dir, 'b'), 0o600, true);
  await b.write(aligned.subarray(0, 1000), 0);
  await b.write(data.subarray(1000), 1000);
  t.notOk(b.writesDirect, 'fell back at the unaligned position');
  await b.close();
  t.equal(sha(await fsp.readFile(path.join(dir, 'b'))), sha(data));

  // Asked for a buffered copy: never direct.
  const c = await CopyTarget.create(path.join(dir, 'c'), 0o600, false);
  t.notOk(c.writesDirect);
  await c.write(data, 0);
  await c.close();
  t.equal(sha(await fsp.readFile(path.join(dir, 'c'))), sha(data));
});

t.test('the copy is created exclusively and never through a symlink', async (t) => {
  const dir = t.testdir({ existing: 'x', elsewhere: 'y' });
  await fsp.symlink(path.join(dir, 'elsewhere'), path.join(dir, 'link'));
  await t.rejects(CopyTarget.create(path.join(dir, 'existing'), 0o600, true), { code: 'EEXIST' });
  await t.rejects(CopyTarget.create(path.join(dir, 'link'), 0o600, true), { code: 'EEXIST' });
  t.equal(await fsp.readFile(path.join(dir, 'elsewhere'), 'utf8'), 'y', 'the symlink target is untouched');
});

t.test('file jobs on large files: whole files, regions at odd offsets, overflow, with and without a copy', async (t) => {
  const dir = t.testdir();
  const size = DIRECT_MIN_BYTES + 3 * 1024 * 1024 + 77;
  const data = randomBytes(size);
  const file = path.join(dir, 'shard.safetensors');
  await fsp.writeFile(file, data);

  const whole = await runFileJob({ file, limit: size, copyTo: path.join(dir, 'whole') });
  t.same(whole, { size, sha256: sha(data), overflow: false });
  t.equal(sha(await fsp.readFile(path.join(dir, 'whole'))), sha(data), 'the copy has the same bytes');

  // A tar entry's data sits at a 512-byte boundary, not a page boundary.
  const offset = 512 * 3;
  const length = size - offset - 1000;
  const region = await runFileJob({ file, limit: length, offset, copyTo: path.join(dir, 'region'), fsync: true });
  const expected = data.subarray(offset, offset + length);
  t.same(region, { size: length, sha256: sha(expected), overflow: false });
  t.equal(sha(await fsp.readFile(path.join(dir, 'region'))), sha(expected));

  const verifyOnly = await runFileJob({ file, limit: size });
  t.equal(verifyOnly.sha256, sha(data), 'hash without a copy');

  // More bytes than declared: an overflow, reported while the next read was already under way.
  const over = await runFileJob({ file, limit: size - 5 * 1024 * 1024, copyTo: path.join(dir, 'over') });
  t.equal(over.overflow, true);
  t.ok(over.size > size - 5 * 1024 * 1024);
  const short = await runFileJob({ file, limit: size + 10 });
  t.same(short, { size, sha256: sha(data), overflow: false }, 'fewer bytes than declared: the caller sees the size');
});

t.test('without room to map aligned buffers (ulimit -v), large copies still come out right, through the page cache', async (t) => {
  const dir = t.testdir();
  const data = randomBytes(DIRECT_MIN_BYTES + 4321);
  const file = path.join(dir, 'big');
  await fsp.writeFile(file, data);
  const script = [
    `import('${new URL('../src/hash/file-job.js', import.meta.url).href}').then(async ({ runFileJob }) => {`,
    `  const mapped = (() => { try { new WebAssembly.Memory({ initial: 16, maximum: 16 }); return true; } catch { return false; } })();`,
    `  const r = await runFileJob({ file: ${JSON.stringify(file)}, limit: ${data.length}, copyTo: ${JSON.stringify(path.join(dir, 'copy'))}, fsync: true });`,
    `  console.log(JSON.stringify({ mapped, ...r }));`,
    `});`,
  ].join('\n');
  // 3 GB of address space: enough for Node, not for the guard region V8 reserves around WebAssembly memory.
  const { stdout } = await run('sh', ['-c', 'ulimit -v 3000000 && exec "$0" --input-type=module -e "$1"', process.execPath, script]);
  const out = JSON.parse(stdout) as { mapped: boolean; sha256: string; size: number; overflow: boolean };
  t.equal(out.mapped, false, 'WebAssembly memory cannot be mapped under this limit');
  t.same({ sha256: out.sha256, size: out.size, overflow: out.overflow }, { sha256: sha(data), size: data.length, overflow: false });
  t.equal(sha(await fsp.readFile(path.join(dir, 'copy'))), sha(data), 'the copy has the same bytes');
});
