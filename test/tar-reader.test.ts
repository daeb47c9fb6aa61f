// The strict tar reader: the header walk at offsets (single tar) and the streaming walk (split parts) read the
// same entries at the same offsets; what airlock writes and what GNU tar writes in POSIX formats is read;
// anything a second reader could read differently is refused with TAR_INVALID (issue 11 §6).
import { execFile } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { tarHeader, tarPadding, TAR_END } from '../src/bundle/write-tar.js';
import { fileCursor, StreamCursor, tarHeaders, type TarHeaderEntry } from '../src/bundle/tar-reader.js';

const run = promisify(execFile);

async function listIndexed(file: string): Promise<TarHeaderEntry[]> {
  const fh = await fsp.open(file);
  try {
    const size = (await fh.stat()).size;
    const cursor = fileCursor(async (buf, pos) => (await fh.read(buf, 0, buf.length, pos)).bytesRead, size);
    const out: TarHeaderEntry[] = [];
    for await (const e of tarHeaders(cursor, 'x.tar')) out.push(e);
    return out;
  } finally {
    await fh.close();
  }
}

async function listStreamed(file: string): Promise<Array<TarHeaderEntry & { bytes: Buffer }>> {
  const cursor = new StreamCursor((createReadStream(file, { highWaterMark: 700 }) as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
  const out = [];
  for await (const e of tarHeaders(cursor, 'x.tar')) {
    const chunks: Buffer[] = [];
    for await (const c of cursor.data(e.size, 'x.tar')) chunks.push(Buffer.from(c));
    out.push({ ...e, bytes: Buffer.concat(chunks) });
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
}

/** A tar as airlock's pack writes it, from entries given here. */
function packTar(entries: Array<{ path: string; data: Buffer }>, tail: Buffer = TAR_END): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(tarHeader({ path: e.path, size: e.data.length, mode: 0o644 }, new Date(0)), e.data, tarPadding(e.data.length));
  parts.push(tail);
  return Buffer.concat(parts);
}

function fixChecksum(b: Buffer, h: number): void {
  b.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = h; i < h + 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', h + 148, 'latin1');
}

t.test('the offset walk and the streaming walk agree, with offsets at the right bytes, on POSIX tars', async (t) => {
  const dir = t.testdir();
  await sourceTree(dir);
  const archives: string[] = [];
  for (const format of ['pax', 'ustar', 'posix']) {
    const file = path.join(dir, `${format}.tar`);
    const names = format === 'ustar' ? ['src/empty.json', 'src/tokenizer.json'] : ['src'];
    await run('tar', ['-cf', file, `--format=${format}`, '-C', dir, ...names]);
    archives.push(file);
  }
  const packed = path.join(dir, 'packed.tar');
  await fsp.writeFile(
    packed,
    packTar([
      { path: 'airlock.json', data: Buffer.from('{}') },
      { path: `payload/${'p'.repeat(200)}/x.bin`, data: Buffer.alloc(1500, 3) },
    ]),
  );
  archives.push(packed);

  for (const file of archives) {
    const indexed = await listIndexed(file);
    const streamed = await listStreamed(file);
    t.strictSame(
      indexed,
      streamed.map(({ bytes: _b, ...e }) => e),
      `${path.basename(file)}: same entries`,
    );
    t.ok(
      indexed.some((e) => e.path.endsWith('.safetensors') || e.path.endsWith('x.bin')) || file.endsWith('ustar.tar'),
      `${path.basename(file)}: the long path is found`,
    );
    const fh = await fsp.open(file);
    for (const [i, e] of indexed.entries()) {
      const buf = Buffer.alloc(e.size);
      await fh.read(buf, 0, e.size, e.offset);
      t.ok(buf.equals(streamed[i]!.bytes), `${path.basename(file)}: bytes of ${e.path} at offset ${e.offset}`);
    }
    await fh.close();
  }
});

t.test("GNU tar's own format (long names in 'L' headers) is refused: pack never writes it", async (t) => {
  const dir = t.testdir();
  await sourceTree(dir);
  const file = path.join(dir, 'gnu.tar');
  await run('tar', ['-cf', file, '--format=gnu', '-C', dir, 'src']);
  await t.rejects(listIndexed(file), { code: 'TAR_INVALID' });
  await t.rejects(listStreamed(file), { code: 'TAR_INVALID' });
});

t.test('cut short, a bad checksum, no end marker: TAR_INVALID from both walks', async (t) => {
  const dir = t.testdir();
  const bytes = packTar([
    { path: 'airlock.json', data: Buffer.from('{}') },
    { path: 'payload/a', data: Buffer.alloc(3000, 1) },
  ]);
  const write = async (name: string, b: Buffer) => {
    const f = path.join(dir, name);
    await fsp.writeFile(f, b);
    return f;
  };
  for (const [name, b] of [
    ['cut', bytes.subarray(0, 1024 + 100)],
    ['no-end', bytes.subarray(0, bytes.length - 1024)],
    ['one-zero-block', bytes.subarray(0, bytes.length - 512)],
  ] as const) {
    const f = await write(`${name}.tar`, b);
    await t.rejects(listIndexed(f), { code: 'TAR_INVALID' }, `${name}: offset walk`);
    await t.rejects(listStreamed(f), { code: 'TAR_INVALID' }, `${name}: streaming walk`);
  }
  const badSum = Buffer.from(bytes);
  badSum[1024 + 100] = badSum[1024 + 100]! ^ 0x01;
  const f = await write('bad-sum.tar', badSum);
  await t.rejects(listIndexed(f), { code: 'TAR_INVALID', message: /checksum/ });
  await t.rejects(listStreamed(f), { code: 'TAR_INVALID', message: /checksum/ });
});

t.test('a lone zero block followed by more entries is refused (GNU tar stops at it; other readers go on)', async (t) => {
  const dir = t.testdir();
  const first = packTar([{ path: 'airlock.json', data: Buffer.from('{}') }], Buffer.alloc(512));
  const rest = packTar([{ path: 'payload/hidden', data: Buffer.from('only some readers see me') }]);
  const f = path.join(dir, 'lone.tar');
  await fsp.writeFile(f, Buffer.concat([first, rest]));
  await t.rejects(listIndexed(f), { code: 'TAR_INVALID', message: /lone zero block/ });
  await t.rejects(listStreamed(f), { code: 'TAR_INVALID', message: /lone zero block/ });
});

t.test('data after the end-of-archive marker is refused; zero padding is not', async (t) => {
  const dir = t.testdir();
  const good = packTar([{ path: 'airlock.json', data: Buffer.from('{}') }]);
  const padded = path.join(dir, 'padded.tar');
  await fsp.writeFile(padded, Buffer.concat([good, Buffer.alloc(10240 - (good.length % 10240))]));
  t.equal((await listIndexed(padded)).length, 1, 'padding to a 10 KiB record, as GNU tar writes, is fine');
  t.equal((await listStreamed(padded)).length, 1);
  const junk = path.join(dir, 'junk.tar');
  await fsp.writeFile(junk, Buffer.concat([good, packTar([{ path: 'payload/x', data: Buffer.from('after the end') }])]));
  await t.rejects(listIndexed(junk), { code: 'TAR_INVALID', message: /after its end/ });
  await t.rejects(listStreamed(junk), { code: 'TAR_INVALID', message: /after its end/ });
});

t.test('headers no second reader could agree on are refused', async (t) => {
  const dir = t.testdir();
  const base = () => packTar([{ path: 'airlock.json', data: Buffer.from('{}') }]);
  const cases: Array<[string, (b: Buffer) => void]> = [
    [
      'an unknown type',
      (b) => {
        b[156] = 'Z'.charCodeAt(0);
        fixChecksum(b, 0);
      },
    ],
    [
      'a GNU long name',
      (b) => {
        b[156] = 'L'.charCodeAt(0);
        fixChecksum(b, 0);
      },
    ],
    [
      'a global pax header',
      (b) => {
        b[156] = 'g'.charCodeAt(0);
        fixChecksum(b, 0);
      },
    ],
    [
      'GNU magic instead of POSIX',
      (b) => {
        b.write('ustar  \0', 257, 'latin1');
        fixChecksum(b, 0);
      },
    ],
    [
      'a name that is not UTF-8',
      (b) => {
        b[3] = 0xff;
        fixChecksum(b, 0);
      },
    ],
    [
      'bytes after the NUL ending a name',
      (b) => {
        b[50] = 0x41;
        fixChecksum(b, 0);
      },
    ],
    [
      'a size field that is not octal',
      (b) => {
        b.write('00000000009\0', 124, 'latin1');
        fixChecksum(b, 0);
      },
    ],
    [
      'a regular file with a link name',
      (b) => {
        b.write('/etc/passwd', 157, 'latin1');
        fixChecksum(b, 0);
      },
    ],
  ];
  for (const [name, edit] of cases) {
    const b = base();
    edit(b);
    const f = path.join(dir, `${name.replace(/\W+/g, '-')}.tar`);
    await fsp.writeFile(f, b);
    await t.rejects(listIndexed(f), { code: 'TAR_INVALID' }, name);
    await t.rejects(listStreamed(f), { code: 'TAR_INVALID' }, `${name} (streaming)`);
  }
});

t.test('pax records are read strictly: known keys once, lengths exact', async (t) => {
  const dir = t.testdir();
  const paxTar = (records: string) => {
    const body = Buffer.from(records);
    const header = tarHeader({ path: 'PaxHeader/x', size: body.length, mode: 0o644 }, new Date(0));
    header[156] = 'x'.charCodeAt(0);
    fixChecksum(header, 0);
    return Buffer.concat([header, body, tarPadding(body.length), packTar([{ path: 'airlock.json', data: Buffer.from('{}') }])]);
  };
  const rec = (k: string, v: string) => {
    const tail = ` ${k}=${v}\n`;
    let n = tail.length + 1;
    while (String(n).length + tail.length !== n) n++;
    return `${n}${tail}`;
  };
  const ok = path.join(dir, 'ok.tar');
  await fsp.writeFile(ok, paxTar(rec('path', 'airlock.json') + rec('mtime', '0')));
  t.equal((await listIndexed(ok))[0]?.path, 'airlock.json');
  for (const [name, records] of [
    ['an unknown key', rec('GNU.sparse.size', '1')],
    ['a key given twice', rec('path', 'a') + rec('path', 'b')],
    ['a wrong record length', '99 path=airlock.json\n'],
    ['a link path', rec('linkpath', '/etc/passwd')],
    ['a size that is not a number', rec('size', '1e3')],
  ] as const) {
    const f = path.join(dir, `${name.replace(/\W+/g, '-')}.tar`);
    await fsp.writeFile(f, paxTar(records));
    await t.rejects(listIndexed(f), { code: 'TAR_INVALID' }, name);
    await t.rejects(listStreamed(f), { code: 'TAR_INVALID' }, `${name} (streaming)`);
  }
});

t.test('a size over 8 GiB in base-256, as pack writes it, is read', async (t) => {
  const header = tarHeader({ path: 'payload/big', size: 10 * 1024 ** 3, mode: 0o644 }, new Date(0));
  const { decodeHeader } = await import('../src/bundle/tar-header.js');
  const last = header.subarray(header.length - 512);
  const h = decodeHeader(last, 'x', 0);
  t.match(h, { kind: 'entry', size: 10 * 1024 ** 3 });
});
