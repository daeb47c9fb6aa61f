// `airlock pack` on every fixture in every form, checked with the tools a reviewer would use:
// sha256sum, tar, cat, ssh-keygen -Y verify.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FileEntry, Manifest, SymlinkEntry } from '../src/format/manifest.js';
import { fixturePath, nimCacheProfile, packFixture, type FixtureName } from './helpers/fixtures.js';
import { makeKey, writeAllowedSigners, type TestKey } from './helpers/keys.js';

const run = promisify(execFile);
const FIXTURES: FixtureName[] = ['nim-cache', 'model-store', 'model-dir'];
const SPLIT = 8192;

async function sha256sums(cwd: string, files: string[]): Promise<Map<string, string>> {
  const { stdout } = await run('sha256sum', ['--', ...files], { cwd, maxBuffer: 16 * 1024 * 1024 });
  const sums = new Map<string, string>();
  for (const line of stdout.trim().split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m?.[1] && m[2]) sums.set(m[2], m[1]);
  }
  return sums;
}

async function sh(script: string, cwd: string): Promise<string> {
  return (await run('sh', ['-c', script], { cwd, maxBuffer: 16 * 1024 * 1024 })).stdout;
}

const fileEntries = (m: Manifest) => m.files.filter((f): f is FileEntry => f.type !== 'symlink');
const symlinkEntries = (m: Manifest) => m.files.filter((f): f is SymlinkEntry => f.type === 'symlink');

/** Every sha256 and size in the manifest is what sha256sum and stat say about the source tree. */
async function checkAgainstSource(t: Test, m: Manifest, source: string): Promise<void> {
  const files = fileEntries(m);
  const sums = await sha256sums(
    source,
    files.map((f) => f.path),
  );
  for (const f of files) {
    t.equal(f.sha256, sums.get(f.path), `sha256 of ${f.path} matches sha256sum`);
    t.equal(f.size, (await fsp.stat(path.join(source, f.path))).size, `size of ${f.path}`);
  }
  for (const s of symlinkEntries(m)) {
    t.equal(s.target, await fsp.readlink(path.join(source, s.path)), `symlink ${s.path} recorded with its target`);
  }
  const paths = m.files.map((f) => f.path);
  t.same(
    paths,
    [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    'entries sorted by byte order',
  );
}

/** Regular files only under payload/, exactly the listed ones, byte for byte. */
async function checkPayloadDir(t: Test, m: Manifest, payload: string): Promise<void> {
  const found: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const d of await fsp.readdir(path.join(payload, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(p);
      else {
        t.ok(d.isFile(), `${p} in the payload is a regular file`);
        found.push(p);
      }
    }
  }
  await walk('');
  const files = fileEntries(m).filter((f) => !f.omitted);
  t.same(found.sort(), files.map((f) => f.path).sort(), 'payload holds exactly the listed files; no symlinks');
  const sums = await sha256sums(payload, found);
  for (const f of files) t.equal(sums.get(f.path), f.sha256, `payload/${f.path} hashes as listed`);
}

async function verifySignature(t: Test, manifestFile: string, sigFile: string, allowed: string, principal: string): Promise<void> {
  const r = await run('sh', [
    '-c',
    'ssh-keygen -Y verify -f "$1" -I "$2" -n airlock -s "$3" < "$4"',
    'sh',
    allowed,
    principal,
    sigFile,
    manifestFile,
  ]).then(
    (x) => ({ ok: true, out: x.stdout }),
    (e: { stderr?: string }) => ({ ok: false, out: e.stderr ?? '' }),
  );
  t.ok(r.ok, `ssh-keygen -Y verify accepts ${path.basename(sigFile)}: ${r.out.trim()}`);
}

let alice: TestKey;
let bob: TestKey;
let allowed: string;

t.before(async () => {
  const keys = await fsp.mkdtemp(path.join(process.env.TMPDIR ?? '/tmp', 'airlock-pack-keys-'));
  alice = makeKey(keys, 'alice', { comment: 'alice@test.invalid' });
  bob = makeKey(keys, 'bob', { comment: 'bob@test.invalid' });
  allowed = writeAllowedSigners(path.join(keys, 'allowed_signers'), [
    { principals: 'alice@test.invalid', key: alice },
    { principals: 'bob@test.invalid', key: bob },
  ]);
  t.teardown(() => fsp.rm(keys, { recursive: true, force: true }));
});

for (const fixture of FIXTURES) {
  t.test(`${fixture}: dir form`, async (t) => {
    const packed = await packFixture(t, { fixture, signKeys: [alice.privatePath, bob.privatePath] });
    t.equal(packed.form, 'dir');
    const manifestBytes = await fsp.readFile(path.join(packed.location, 'airlock.json'));
    const m = JSON.parse(manifestBytes.toString()) as Manifest;
    t.equal(m.kind, fixture);
    t.equal(m.channel, 'stable', 'default channel');
    t.match(m.id, /^meta_llama-3\.1-8b-instruct-\d+-[0-9a-f]{8}$/);
    t.equal(m.id, packed.id);
    t.equal(
      (await sha256sums(packed.location, ['airlock.json'])).get('airlock.json'),
      packed.manifestDigest,
      'manifestDigest is sha256sum of airlock.json',
    );
    await checkAgainstSource(t, m, packed.source);
    await checkPayloadDir(t, m, path.join(packed.location, 'payload'));
    t.same((await fsp.readdir(path.join(packed.location, 'signatures'))).sort(), ['alice-test.invalid.sig', 'bob-test.invalid.sig']);
    await verifySignature(
      t,
      path.join(packed.location, 'airlock.json'),
      path.join(packed.location, 'signatures/alice-test.invalid.sig'),
      allowed,
      'alice@test.invalid',
    );
    await verifySignature(
      t,
      path.join(packed.location, 'airlock.json'),
      path.join(packed.location, 'signatures/bob-test.invalid.sig'),
      allowed,
      'bob@test.invalid',
    );
    const leftovers = (await fsp.readdir(path.dirname(packed.location))).filter((n) => n.includes('partial'));
    t.same(leftovers, [], 'no partial output left behind');
    if (fixture === 'nim-cache') {
      t.equal(symlinkEntries(m).length, 9, 'the nine snapshot symlinks are recorded');
      t.same(m.profiles, [nimCacheProfile().profile], 'profile id, name and tags recorded');
    }
  });

  t.test(`${fixture}: tar form`, async (t) => {
    const packed = await packFixture(t, { fixture, format: 'tar', signKeys: [alice.privatePath] });
    t.equal(packed.form, 'tar');
    t.equal(path.basename(packed.location), `${packed.id}.airlock.tar`);
    t.same(packed.outputs, [packed.location]);
    const names = (await sh(`tar -tf '${path.basename(packed.location)}'`, packed.out)).trim().split('\n');
    t.equal(names[0], 'airlock.json', 'airlock.json is the first entry');
    t.equal(names[1], 'signatures/alice-test.invalid.sig', 'then the signatures');
    t.ok(
      names.slice(2).every((n) => n.startsWith('payload/')),
      'then the payload',
    );
    const verbose = (await sh(`tar --numeric-owner --full-time -tvf '${path.basename(packed.location)}'`, packed.out)).trim().split('\n');
    const extract = path.join(packed.out, 'x');
    await fsp.mkdir(extract);
    await run('tar', ['-xf', packed.location, '-C', extract]);
    const m = JSON.parse(await fsp.readFile(path.join(extract, 'airlock.json'), 'utf8')) as Manifest;
    const created = m.created.replace('T', ' ').replace('Z', '');
    for (const line of verbose) {
      t.match(line, /^-rw-r--r-- 0\/0 /, `regular file, 0644, owner 0/0: ${line}`);
      t.ok(line.includes(created), `mtime is the manifest's created time: ${line}`);
    }
    t.equal(names.length, 2 + fileEntries(m).length, 'one entry per listed file, none for symlinks');
    await checkAgainstSource(t, m, packed.source);
    await checkPayloadDir(t, m, path.join(extract, 'payload'));
    await verifySignature(
      t,
      path.join(extract, 'airlock.json'),
      path.join(extract, 'signatures/alice-test.invalid.sig'),
      allowed,
      'alice@test.invalid',
    );
    t.same(
      (await fsp.readdir(packed.out)).filter((n) => n.startsWith('.')),
      [],
      'no hidden staging left in DEST',
    );
  });

  t.test(`${fixture}: split form`, async (t) => {
    const packed = await packFixture(t, { fixture, split: '8K', signKeys: [alice.privatePath] });
    t.equal(packed.form, 'split');
    t.equal(path.basename(packed.location), `${packed.id}.airlock.parts.json`);
    const index = JSON.parse(await fsp.readFile(packed.location, 'utf8')) as {
      schema: string;
      tar: string;
      size: number;
      sha256: string;
      parts: Array<{ name: string; size: number; sha256: string }>;
    };
    t.equal(index.schema, 'airlock.parts/v1');
    t.equal(index.tar, `${packed.id}.airlock.tar`);
    t.ok(index.parts.length > 1, 'more than one part at 8K');
    const onDisk = (await fsp.readdir(packed.out)).sort();
    const signatures = path.basename(packed.location).replace(/\.parts\.json$/, '.parts.signatures');
    t.same(
      onDisk,
      [path.basename(packed.location), signatures, ...index.parts.map((p) => p.name)].sort(),
      'index, its signatures and parts, nothing else (no full tar)',
    );
    t.same(await fsp.readdir(path.join(packed.out, signatures)), ['alice-test.invalid.sig'], 'the index signed by the same key');
    const sums = await sha256sums(
      packed.out,
      index.parts.map((p) => p.name),
    );
    for (const [i, p] of index.parts.entries()) {
      t.equal(p.name, `${index.tar}.${String(i).padStart(3, '0')}`);
      const size = (await fsp.stat(path.join(packed.out, p.name))).size;
      t.equal(size, p.size, `${p.name} size as indexed`);
      t.ok(size <= SPLIT, `${p.name} is at most the split size`);
      if (i < index.parts.length - 1) t.equal(size, SPLIT, 'all but the last part are full');
      t.equal(sums.get(p.name), p.sha256, `${p.name} sha256 matches sha256sum`);
    }
    const whole = (await sh(`cat '${index.tar}'.* | sha256sum`, packed.out)).slice(0, 64);
    t.equal(whole, index.sha256, 'index sha256 is the sha256 of the concatenated parts');
    const names = (await sh(`cat '${index.tar}'.* | tar -tf -`, packed.out)).trim().split('\n');
    t.equal(names[0], 'airlock.json', 'cat parts | tar -t lists airlock.json first');
    t.equal(names[1], 'signatures/alice-test.invalid.sig');
    const extract = path.join(t.testdirName, 'x');
    await fsp.mkdir(extract);
    await sh(`cat '${index.tar}'.* | tar -xf - -C '${extract}'`, packed.out);
    const m = JSON.parse(await fsp.readFile(path.join(extract, 'airlock.json'), 'utf8')) as Manifest;
    await checkAgainstSource(t, m, packed.source);
    await checkPayloadDir(t, m, path.join(extract, 'payload'));
  });
}

t.test('the same manifest gives the same tar bytes', async (t) => {
  // Two packs differ only by id/created; the headers that do not depend on them must match byte for byte.
  const a = await packFixture(t, { fixture: 'model-store', format: 'tar', sequence: 7 });
  const b = await packFixture(t, { fixture: 'model-store', format: 'tar', sequence: 7 });
  const listing = async (p: { location: string; out: string }) =>
    (await sh(`tar --numeric-owner -tvf '${p.location}' | cut -c1-40 | sort`, p.out)).replace(/\d{4}-\d\d-\d\d \d\d:\d\d/g, '');
  t.equal(await listing(a), await listing(b));
  t.not(a.id, b.id, 'every pack gets its own id');
});

t.test('fixture sizes stay small', async (t) => {
  const total = Number((await sh('du -sb --apparent-size . | cut -f1', fixturePath(''))).trim());
  t.ok(total < 200 * 1024, `fixtures are ${total} bytes`);
});
