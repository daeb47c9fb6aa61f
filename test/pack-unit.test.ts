// The pure parts of pack: sizes, expiry, labels, ids, profiles, the parts index, image choice, tar headers.
import t from 'tap';
import { Parser, type ReadEntry } from 'tar';
import { AirlockError } from '../src/errors.js';
import { chooseImage } from '../src/bundle/image-archive.js';
import { bundleId } from '../src/bundle/pack-options.js';
import { parseExpiry, parseImageArchives, parseProfiles } from '../src/cli/pack-args.js';
import { uniqueLabels } from '../src/bundle/pack-sign.js';
import { walkedLinkProblem, walkedTree } from '../src/bundle/source-links.js';
import { mapLimited } from '../src/util/map-limited.js';
import { buildPartsIndex, parsePartsIndex, serializePartsIndex } from '../src/bundle/parts-index.js';
import { FAT32_MAX_FILE, parseSplitSize } from '../src/bundle/split-size.js';
import { TAR_END, tarHeader, tarPadding } from '../src/bundle/write-tar.js';
import { formatProgress } from '../src/util/progress.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof AirlockError ? err.code : `not an AirlockError: ${String(err)}`;
  }
  return undefined;
};

t.test('symlinks resolve against the walked tree, one component at a time as the kernel would', async (t) => {
  const tree = walkedTree([
    { type: 'file', path: 'blobs/aaaa' },
    { type: 'file', path: 'top.txt' },
    { type: 'symlink', path: 'snapshots/main/model.bin', target: '../../blobs/aaaa' },
    { type: 'symlink', path: 'snapshots/main/alias.bin', target: './model.bin' },
    { type: 'symlink', path: 'snapshots/main/dotted', target: '../main/../../top.txt' },
    { type: 'symlink', path: 'loop-a', target: 'loop-b' },
    { type: 'symlink', path: 'loop-b', target: 'loop-a' },
  ]);
  const ok = (link: string, target: string) => walkedLinkProblem(walkedTree([...entriesOf(tree), { type: 'symlink', path: link, target }]), link);
  t.equal(walkedLinkProblem(tree, 'snapshots/main/model.bin'), undefined, 'a snapshot link');
  t.equal(walkedLinkProblem(tree, 'snapshots/main/alias.bin'), undefined, 'a chain of links');
  t.equal(walkedLinkProblem(tree, 'snapshots/main/dotted'), undefined, '.. after real folders');
  t.match(walkedLinkProblem(tree, 'loop-a'), /more than 40 links/);
  t.match(ok('x', '/etc/passwd'), /absolute/);
  t.match(ok('x', '../outside'), /leaves SOURCE/);
  t.match(ok('x', 'gone/../top.txt'), /passes through gone/, 'a folder that does not exist');
  t.match(ok('x', 'top.txt/../top.txt'), /passes through top\.txt/, 'a file is not a folder');
  t.match(ok('x', 'snapshots/main/model.bin/../alias.bin'), /passes through/, 'nor is a link');
  t.match(ok('x', 'blobs'), /directory/);
  t.match(ok('x', 'top.txt/'), /directory/);
  t.match(ok('x', 'missing'), /does not resolve/);
});

function entriesOf(tree: ReturnType<typeof walkedTree>): Array<{ type: 'file' | 'symlink'; path: string; target?: string }> {
  return [
    ...[...tree.files].map((p) => ({ type: 'file' as const, path: p })),
    ...[...tree.links].map(([p, target]) => ({ type: 'symlink' as const, path: p, target })),
  ];
}

t.test('mapLimited keeps order, bounds concurrency, and stops starting work after a failure', async (t) => {
  let running = 0;
  let peak = 0;
  const out = await mapLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setImmediate(r));
    running--;
    return n * 10;
  });
  t.same(out, [10, 20, 30, 40, 50, 60, 70]);
  t.equal(peak, 3);
  const started: number[] = [];
  const err = await mapLimited([1, 2, 3, 4, 5, 6], 2, async (n) => {
    started.push(n);
    await new Promise((r) => setImmediate(r));
    if (n === 2) throw new Error('boom');
    return n;
  }).catch((e: unknown) => e);
  t.equal((err as Error).message, 'boom');
  t.ok(started.length < 6, `no new item after the failure (started ${started.join(',')})`);
  t.equal(running, 0);
});

t.test('split sizes', async (t) => {
  t.equal(parseSplitSize('fat32'), 4294967295, 'fat32 is the largest FAT32 file');
  t.equal(FAT32_MAX_FILE, 4294967295);
  t.equal(parseSplitSize('FAT32'), 4294967295);
  t.equal(parseSplitSize('512M'), 512 * 1024 ** 2);
  t.equal(parseSplitSize('4G'), 4 * 1024 ** 3);
  t.equal(parseSplitSize('1.5G'), 1.5 * 1024 ** 3);
  t.equal(parseSplitSize('8K'), 8192);
  t.equal(parseSplitSize('2T'), 2 * 1024 ** 4);
  t.equal(parseSplitSize('1048576'), 1048576);
  t.equal(parseSplitSize('4GiB'), 4 * 1024 ** 3);
  for (const bad of ['', 'big', '-1G', '4X', '1e9', '100', '0', '1.5.2G'])
    t.equal(
      code(() => parseSplitSize(bad)),
      'USAGE',
      `${JSON.stringify(bad)} is refused`,
    );
});

t.test('expiry: RFC 3339 times and durations', async (t) => {
  const created = new Date('2025-03-01T00:00:00Z');
  t.equal(parseExpiry('30d', created).toISOString(), '2025-03-31T00:00:00.000Z');
  t.equal(parseExpiry('12h', created).toISOString(), '2025-03-01T12:00:00.000Z');
  t.equal(parseExpiry('2w', created).toISOString(), '2025-03-15T00:00:00.000Z');
  t.equal(parseExpiry('2025-04-01T02:00:00+02:00', created).toISOString(), '2025-04-01T00:00:00.000Z');
  for (const bad of ['tomorrow', '30', '2025-04-01', '2025-02-01T00:00:00Z', '0d', '2025-13-45T99:00:00Z']) {
    t.equal(
      code(() => parseExpiry(bad, created)),
      'USAGE',
      `${bad} is refused`,
    );
  }
});

t.test('signature labels stay unique', async (t) => {
  t.same(uniqueLabels(['alice-example.com', 'bob', 'alice-example.com', 'alice-example.com']), [
    'alice-example.com',
    'bob',
    'alice-example.com-2',
    'alice-example.com-3',
  ]);
  t.ok(
    uniqueLabels(['a'.repeat(64), 'a'.repeat(64)]).every((l) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(l)),
    'suffixed labels keep the label pattern',
  );
});

t.test('bundle ids fit the manifest id pattern', async (t) => {
  t.equal(bundleId('meta/llama-3.1-8b-instruct', 1700000000, 'deadbeef'), 'meta_llama-3.1-8b-instruct-1700000000-deadbeef');
  const long = bundleId('a'.repeat(200), 9007199254740991, '0123abcd');
  t.ok(long.length <= 128, 'cut to 128 characters');
  t.match(long, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
  t.match(long, /-9007199254740991-0123abcd$/);
});

t.test('profiles and their tags', async (t) => {
  const id = 'ab'.repeat(32);
  t.same(parseProfiles([`${id}=vllm-bf16-tp2-pp1`], [`${id}:tp=2,pp=1`, `${id}:gpu=H100`]), [
    { id, name: 'vllm-bf16-tp2-pp1', tags: { tp: '2', pp: '1', gpu: 'H100' } },
  ]);
  t.same(parseProfiles([id], []), [{ id }]);
  t.equal(
    code(() => parseProfiles(['abc'], [])),
    'USAGE',
    'short id',
  );
  t.equal(
    code(() => parseProfiles([id.toUpperCase()], [])),
    'USAGE',
    'upper-case id',
  );
  t.equal(
    code(() => parseProfiles([id, id], [])),
    'USAGE',
    'duplicate',
  );
  t.equal(
    code(() => parseProfiles([id], [`${'cd'.repeat(32)}:tp=1`])),
    'USAGE',
    'tags for an unknown profile',
  );
  t.equal(
    code(() => parseProfiles([id], [`${id}:tp`])),
    'USAGE',
    'tag without =',
  );
});

t.test('image archive arguments', async (t) => {
  t.same(parseImageArchives(['/x/nim.tar=nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', 'other'], '/cwd'), [
    { file: '/x/nim.tar', archive: 'images/nim.tar', ref: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3' },
    { file: '/cwd/other', archive: 'images/other.tar' },
  ]);
  t.equal(
    code(() => parseImageArchives(['/a/nim.tar', '/b/nim.tar'], '/')),
    'USAGE',
    'two archives with one name',
  );
  t.equal(
    code(() => parseImageArchives(['=ref'], '/')),
    'USAGE',
    'no file',
  );
});

t.test('choosing the image of an archive', async (t) => {
  const a = { repoTags: ['nvcr.io/nim/a:1', 'nvcr.io/nim/a:latest'], id: `sha256:${'a'.repeat(64)}` };
  const b = { repoTags: ['nvcr.io/nim/b:1'], id: `sha256:${'b'.repeat(64)}` };
  t.same(chooseImage([a], undefined, 'x.tar'), { ref: 'nvcr.io/nim/a:1', id: a.id }, 'first tag by default');
  t.same(chooseImage([a], 'mirror.local/a:1', 'x.tar'), { ref: 'mirror.local/a:1', id: a.id }, 'REF renames a single image');
  t.same(chooseImage([a, b], 'nvcr.io/nim/b:1', 'x.tar'), { ref: 'nvcr.io/nim/b:1', id: b.id }, 'REF picks one of several');
  t.equal(
    code(() => chooseImage([a, b], undefined, 'x.tar')),
    'USAGE',
    'several images need REF',
  );
  t.equal(
    code(() => chooseImage([a, b], 'nvcr.io/nim/c:1', 'x.tar')),
    'USAGE',
    'REF must name one of several',
  );
  t.equal(
    code(() => chooseImage([{ repoTags: [], id: a.id }], undefined, 'x.tar')),
    'USAGE',
    'untagged image needs REF',
  );
});

t.test('parts index round trip and its own checks', async (t) => {
  const tar = 'm-1-00000000.airlock.tar';
  const parts = [
    { name: `${tar}.000`, size: 8192, sha256: '1'.repeat(64) },
    { name: `${tar}.001`, size: 100, sha256: '2'.repeat(64) },
  ];
  const index = buildPartsIndex(tar, { size: 8292, sha256: '3'.repeat(64) }, parts);
  t.same(parsePartsIndex(serializePartsIndex(index), 'x'), index);
  const bad = (doc: unknown) => code(() => parsePartsIndex(Buffer.from(JSON.stringify(doc)), 'x'));
  t.equal(bad({ ...index, size: 1 }), 'PARTS_INVALID', 'sizes do not add up');
  t.equal(bad({ ...index, parts: [parts[1], parts[0]] }), 'PARTS_INVALID', 'out of order');
  t.equal(bad({ ...index, parts: [{ ...parts[0], name: `../${tar}.000` }, parts[1]] }), 'PARTS_INVALID', 'a path, not a name');
  t.equal(
    bad({
      ...index,
      parts: [
        { ...parts[0], size: 100 },
        { ...parts[1], size: 8192 },
      ],
    }),
    'PARTS_INVALID',
    'last part larger than the others',
  );
  t.equal(bad({ ...index, extra: 1 }), 'PARTS_INVALID', 'unknown field');
  t.equal(
    code(() => parsePartsIndex(Buffer.from('{'), 'x')),
    'PARTS_INVALID',
    'not JSON',
  );
});

t.test('tar headers: regular files, uid/gid 0, fixed mtime, pax for long paths', async (t) => {
  const mtime = new Date('2025-03-01T12:00:00Z');
  const long = `payload/${'d'.repeat(120)}/${'f'.repeat(120)}/model-00001-of-00002.safetensors`;
  const body = Buffer.from('hello');
  const bytes = Buffer.concat([tarHeader({ path: long, size: body.length, mode: 0o755 }, mtime), body, tarPadding(body.length), TAR_END]);
  t.equal(bytes.length % 512, 0);
  const seen: Array<{
    path: string;
    mode: number | undefined;
    uid: number | undefined;
    gid: number | undefined;
    mtime: Date | undefined;
    type: string;
    data: string;
  }> = [];
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({ strict: true });
    p.on('entry', (e: ReadEntry) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () =>
        seen.push({ path: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, type: e.type, data: Buffer.concat(chunks).toString() }),
      );
    });
    p.on('error', reject);
    p.on('end', () => resolve());
    p.end(bytes);
  });
  t.equal(seen.length, 1);
  t.equal(seen[0]?.path, long, 'long path survives via pax');
  t.equal(seen[0]?.type, 'File');
  t.equal(seen[0]?.mode, 0o755);
  t.equal(seen[0]?.uid, 0);
  t.equal(seen[0]?.gid, 0);
  t.equal(seen[0]?.mtime?.toISOString(), mtime.toISOString());
  t.equal(seen[0]?.data, 'hello');
});

t.test('progress line', async (t) => {
  t.match(formatProgress('hash + copy', 512 * 1024 ** 2, 2 * 1024 ** 3, 100 * 1024 ** 2), /hash \+ copy\s+512 MiB \/ 2\.0 GiB\s+25%\s+100 MiB\/s/);
  t.match(formatProgress('x', 0, 0, 0), /100%/);
});
