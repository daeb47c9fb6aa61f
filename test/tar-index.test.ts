// The header-only tar walk must see exactly what node-tar's streaming parser sees, and its offsets
// must point at each entry's bytes. Archives come from GNU tar (ustar, gnu and pax formats) and node-tar.
import { execFile } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { create } from 'tar';
import { indexTar, type IndexedTarEntry } from '../src/bundle/tar-index.js';
import { tarEntries } from '../src/bundle/tar-entries.js';

const run = promisify(execFile);

async function listIndexed(file: string): Promise<IndexedTarEntry[]> {
  const out: IndexedTarEntry[] = [];
  for await (const e of indexTar(file, 'x.tar')) out.push(e);
  return out;
}

async function listStreamed(file: string): Promise<Array<{ path: string; kind: string; size: number; bytes: Buffer }>> {
  const out = [];
  for await (const e of tarEntries(createReadStream(file), 'x.tar')) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    out.push({ path: e.path, kind: e.kind, size: e.size, bytes: Buffer.concat(chunks) });
  }
  return out;
}

async function sourceTree(dir: string): Promise<void> {
  const long = path.join(dir, 'src', 'a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60));
  await fsp.mkdir(long, { recursive: true });
  await fsp.writeFile(path.join(long, `${'d'.repeat(90)}.safetensors`), Buffer.alloc(70_000, 7));
  await fsp.writeFile(path.join(dir, 'src', 'empty.json'), '');
  await fsp.writeFile(path.join(dir, 'src', 'tokenizer.json'), 'x'.repeat(513));
  await fsp.writeFile(path.join(dir, 'src', 'ünïcode-näme.txt'), 'utf-8 names go through pax');
  await fsp.symlink('tokenizer.json', path.join(dir, 'src', 'link'));
}

t.test('same entries as the streaming parser, offsets at the right bytes, for every tar format', async (t) => {
  const dir = t.testdir();
  await sourceTree(dir);
  const archives: string[] = [];
  for (const format of ['gnu', 'pax', 'ustar']) {
    const file = path.join(dir, `${format}.tar`);
    // ustar cannot hold the long path; it still gets every other entry.
    const names = format === 'ustar' ? ['src/empty.json', 'src/tokenizer.json', 'src/link'] : ['src'];
    await run('tar', ['-cf', file, `--format=${format}`, '-C', dir, ...names]);
    archives.push(file);
  }
  const nodeTar = path.join(dir, 'node-tar.tar');
  await create({ file: nodeTar, cwd: dir, portable: true }, ['src']);
  archives.push(nodeTar);

  for (const file of archives) {
    const indexed = await listIndexed(file);
    const streamed = await listStreamed(file);
    t.strictSame(indexed.map(({ path, kind, size }) => ({ path, kind, size })), streamed.map(({ path, kind, size }) => ({ path, kind, size })), `${path.basename(file)}: same entries`);
    t.ok(indexed.some((e) => e.path.endsWith('.safetensors')) || file.endsWith('ustar.tar'), `${path.basename(file)}: the long path is found`);
    const fh = await fsp.open(file);
    for (const [i, e] of indexed.entries()) {
      const buf = Buffer.alloc(e.size);
      await fh.read(buf, 0, e.size, e.offset);
      t.ok(buf.equals(streamed[i]!.bytes), `${path.basename(file)}: bytes of ${e.path} at offset ${e.offset}`);
    }
    await fh.close();
  }
});

t.test('a truncated archive, a bad checksum, a missing end marker and an unknown type are errors with codes', async (t) => {
  const dir = t.testdir();
  await sourceTree(dir);
  const good = path.join(dir, 'good.tar');
  await run('tar', ['-cf', good, '--format=pax', '-C', dir, 'src']);
  const bytes = await fsp.readFile(good);

  const cut = path.join(dir, 'cut.tar');
  await fsp.writeFile(cut, bytes.subarray(0, 4096 + 100));
  await t.rejects(listIndexed(cut), { code: 'TAR_INVALID', message: /truncated/ });

  const noEnd = path.join(dir, 'no-end.tar');
  const entries = await listIndexed(good);
  const last = entries[entries.length - 1]!;
  await fsp.writeFile(noEnd, bytes.subarray(0, last.offset + Math.ceil(last.size / 512) * 512));
  await t.rejects(listIndexed(noEnd), { code: 'TAR_INVALID', message: /truncated/ });

  const badSum = Buffer.from(bytes);
  const at = entries[1]!.offset - 512 + 100; // mode field of the second entry's header
  badSum[at] = badSum[at]! ^ 0x01;
  const bad = path.join(dir, 'bad.tar');
  await fsp.writeFile(bad, badSum);
  await t.rejects(listIndexed(bad), { code: 'TAR_INVALID', message: /checksum/ });

  const odd = Buffer.from(bytes);
  const h = entries.find((e) => e.kind === 'file')!.offset - 512;
  odd[h + 156] = 'Z'.charCodeAt(0);
  // Fix the checksum so only the type is wrong.
  odd.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = h; i < h + 512; i++) sum += odd[i]!;
  odd.write(sum.toString(8).padStart(6, '0') + '\0 ', h + 148, 'latin1');
  const unknown = path.join(dir, 'unknown.tar');
  await fsp.writeFile(unknown, odd);
  await t.rejects(listIndexed(unknown), { code: 'WRONG_TYPE' });
  await t.rejects(listStreamed(unknown), { code: 'WRONG_TYPE' }, 'the streaming parser agrees');
});
