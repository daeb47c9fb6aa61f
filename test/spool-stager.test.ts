// The stager over real folders, real signatures and real hash workers, driven look by look as the probe worker
// drives it: nothing before trust, copies made as files settle, copied again when they change, resumed after a
// restart, started over when the manifest changes, reclaimed when the drop stops, and hostile drops.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ArrivalStager, type StagingSummary } from '../src/spool/stager.js';
import { Spool, spoolKey } from '../src/spool/spool.js';
import { observeCandidate } from '../src/watcher/probe.js';
import { manifestFor, sha256, type SourceFile } from './helpers/bundle-builder.js';
import { makeKey, sshSign, writeAllowedSigners, type TestKey } from './helpers/keys.js';

const SETTLE = 100;

interface Setup {
  root: string;
  drop: string;
  bundle: string;
  spools: string;
  store: string;
  key: TestKey;
  trust: string;
}

async function setup(t: Test): Promise<Setup> {
  const root = t.testdir();
  const key = makeKey(path.join(root, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(root, 'allowed_signers'), [{ principals: 'release@test.invalid', key }]);
  const drop = path.join(root, 'drop');
  await fsp.mkdir(drop);
  return {
    root,
    drop,
    bundle: path.join(drop, 'b'),
    spools: path.join(root, 'store', 'daemon', 'spool', 'staged'),
    store: path.join(root, 'store'),
    key,
    trust,
  };
}

function stagerFor(s: Setup, extra: { keepMs?: number } = {}): ArrivalStager {
  return new ArrivalStager({
    root: s.spools,
    store: s.store,
    trust: { allowedSigners: s.trust },
    threshold: 1,
    maxManifestBytes: 1024 * 1024,
    settleMs: SETTLE,
    keepMs: extra.keepMs ?? 3_600_000,
  });
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));
const FILES: SourceFile[] = [
  { path: 'config.json', data: Buffer.from('{"a":1}\n') },
  { path: 'weights/shard-1.bin', data: bytes(70_000, 1) },
  { path: 'weights/shard-2.bin', data: bytes(50_000, 2) },
];

/** Only the head of a bundle: airlock.json and (when signed) signatures/, as rsync of the head sends them first. */
async function writeHead(dir: string, files: SourceFile[], signers: TestKey[], overrides: Record<string, unknown> = {}): Promise<Buffer> {
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files, overrides), null, 2) + '\n');
  await fsp.mkdir(path.join(dir, 'signatures'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'airlock.json'), manifestBytes);
  for (const [i, key] of signers.entries()) await fsp.writeFile(path.join(dir, 'signatures', `signer${i}.sig`), sshSign(key, manifestBytes));
  return manifestBytes;
}

async function writePayload(dir: string, f: SourceFile): Promise<void> {
  const dest = path.join(dir, 'payload', f.path);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await fsp.writeFile(dest, f.data!);
}

/** Look at the drop (as the probe does) and hand the look to the stager, until `until` holds. */
async function lookUntil(s: Setup, stager: ArrivalStager, until: (x: StagingSummary) => boolean, what: string): Promise<StagingSummary> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { look } = await observeCandidate({ form: 'dir', location: s.bundle, root: s.drop, media: false });
    if (look) {
      const summary = await stager.advance(look);
      if (until(summary)) return summary;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

const journalLines = async (s: Setup) =>
  (await fsp.readFile(path.join(s.spools, spoolKey(s.bundle), 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('nothing of the payload is read, nor a spool made, before trusted signatures over the manifest hold', async (t) => {
  const s = await setup(t);
  const stranger = makeKey(path.join(s.root, 'keys'), 'stranger');
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [stranger]);
  for (const f of FILES) await writePayload(s.bundle, f);
  await new Promise((r) => setTimeout(r, 3 * SETTLE));
  for (let i = 0; i < 5; i++) {
    const summary = await lookUntil(s, stager, () => true, 'a look');
    t.equal(summary.state, 'waiting', 'signed by a key the trust file does not hold');
    t.equal(summary.bytesVerified, 0);
    await new Promise((r) => setTimeout(r, SETTLE));
  }
  t.same(await fsp.readdir(s.spools).catch(() => []), [], 'no spool was made');

  // Unsigned (the signatures have not arrived): the same.
  await fsp.rm(path.join(s.bundle, 'signatures'), { recursive: true });
  t.equal((await lookUntil(s, stager, () => true, 'a look')).state, 'waiting');
  t.same(await fsp.readdir(s.spools).catch(() => []), []);

  // The trusted signature arrives last: now everything settled is verified.
  await writeHead(s.bundle, FILES, [s.key]);
  const done = await lookUntil(s, stager, (x) => x.state === 'staged', 'staged once trusted');
  t.equal(
    done.bytesVerified,
    FILES.reduce((n, f) => n + f.data!.length, 0),
  );
});

t.test('files are verified as they arrive, each after its settle time, into copies equal to the listed bytes', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  t.equal((await lookUntil(s, stager, () => true, 'first look')).state, 'staging', 'trusted, nothing arrived yet');
  await writePayload(s.bundle, FILES[1]!);
  const one = await lookUntil(s, stager, (x) => x.filesVerified === 1, 'the first file verified');
  t.equal(one.state, 'staging', 'while the rest is still missing');
  t.equal(one.bytesVerified, FILES[1]!.data!.length);
  await writePayload(s.bundle, FILES[0]!);
  await writePayload(s.bundle, FILES[2]!);
  const all = await lookUntil(s, stager, (x) => x.state === 'staged', 'all verified');
  t.equal(all.filesVerified, 3);
  const spool = (await Spool.open(s.spools, s.bundle))!;
  t.equal(spool.header.manifestDigest, sha256(await fsp.readFile(path.join(s.bundle, 'airlock.json'))));
  for (const f of FILES) {
    const blob = spool.blobPath(sha256(f.data!));
    t.same(await fsp.readFile(blob), f.data, `${f.path}: the copy holds the listed bytes`);
    t.equal((await fsp.stat(blob)).mode & 0o777, 0o444, 'read-only, as store content');
  }
});

t.test('a file changed after it was copied is copied again; a wrong one never counts as verified', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  for (const f of FILES.slice(0, 2)) await writePayload(s.bundle, f);
  await lookUntil(s, stager, (x) => x.filesVerified === 2, 'two verified');
  const shard = path.join(s.bundle, 'payload', FILES[1]!.path);

  // Written again with other bytes of the same size: the copy no longer stands for it, and it fails.
  const wrong = Buffer.from(FILES[1]!.data!);
  wrong[100] = (wrong[100]! + 1) % 256;
  await fsp.writeFile(shard, wrong);
  await writePayload(s.bundle, FILES[2]!);
  const bad = await lookUntil(s, stager, (x) => x.state === 'off', 'the changed file failed');
  t.equal(bad.filesVerified, 2, 'the two other files are verified; the changed one is not');

  // Written back: copied again, and the bundle is ready.
  await fsp.writeFile(shard, FILES[1]!.data!);
  await lookUntil(s, stager, (x) => x.state === 'staged', 'staged again');
  const lines = (await journalLines(s)).filter((l) => l['path'] === `payload/${FILES[1]!.path}`);
  t.equal(lines.length, 2, 'the file was copied twice');
  t.not(JSON.stringify(lines[0]!['stamp']), JSON.stringify(lines[1]!['stamp']), 'from two different stamps');
});

t.test('a restart resumes from the copies whose files did not change; a changed one is copied again', async (t) => {
  const s = await setup(t);
  const first = stagerFor(s);
  await writeHead(s.bundle, FILES, [s.key]);
  for (const f of FILES.slice(0, 2)) await writePayload(s.bundle, f);
  await lookUntil(s, first, (x) => x.filesVerified === 2, 'two verified');
  await first.close();
  const before = await journalLines(s);
  // While the daemon was down one file was touched: it is the same bytes, but not provably the same file.
  const touched = path.join(s.bundle, 'payload', FILES[0]!.path);
  await fsp.utimes(touched, new Date(), new Date(Date.now() - 60_000));

  const second = stagerFor(s);
  t.teardown(() => second.close());
  const resumed = await lookUntil(s, second, () => true, 'first look after the restart');
  t.equal(resumed.filesVerified, 1, 'the untouched file counts at once, without being read');
  t.same(await journalLines(s), before, 'and nothing was copied for it');
  await writePayload(s.bundle, FILES[2]!);
  await lookUntil(s, second, (x) => x.state === 'staged', 'staged after the restart');
  const lines = await journalLines(s);
  t.equal(lines.filter((l) => l['path'] === `payload/${FILES[1]!.path}`).length, 1, 'the shard was copied once in all');
  t.equal(lines.filter((l) => l['path'] === `payload/${FILES[0]!.path}`).length, 2, 'the touched file was copied again');
});

t.test('a manifest replaced mid-arrival starts over: a new spool for the new manifest', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  await writePayload(s.bundle, FILES[1]!);
  await lookUntil(s, stager, (x) => x.filesVerified === 1, 'one verified');
  const firstDigest = (await Spool.open(s.spools, s.bundle))!.header.manifestDigest;

  const next: SourceFile[] = [FILES[0]!, { path: 'weights/shard-1.bin', data: bytes(70_000, 9) }, FILES[2]!];
  await writeHead(s.bundle, next, [s.key], { id: 'test-bundle-2', sequence: 2 });
  const restarted = await lookUntil(s, stager, (x) => x.state === 'staging' && x.filesVerified === 0, 'started over');
  t.equal(restarted.bytesVerified, 0, 'nothing verified for the new manifest yet');
  const spool = (await Spool.open(s.spools, s.bundle))!;
  t.not(spool.header.manifestDigest, firstDigest, 'the spool is for the new manifest');
  t.equal(spool.entries.size, 0, 'and holds none of the old copies');
  for (const f of next) await writePayload(s.bundle, f);
  await lookUntil(s, stager, (x) => x.state === 'staged', 'the new bundle staged');
});

t.test('the copies of a drop that stopped arriving are reclaimed after the keep time, and not made again', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s, { keepMs: 1500 });
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  await writePayload(s.bundle, FILES[1]!);
  await lookUntil(s, stager, (x) => x.filesVerified === 1, 'one verified');
  t.same(await stager.reclaim(), [], 'kept while it is fresh');
  await new Promise((r) => setTimeout(r, 1600));
  t.same(await stager.reclaim(), [path.join(s.spools, spoolKey(s.bundle))]);
  t.same(await fsp.readdir(s.spools), [], 'the spool is gone');
  const idle = await lookUntil(s, stager, () => true, 'a look at the stopped drop');
  t.equal(idle.state, 'off', 'a drop that stopped is left to the install');
  t.same(await fsp.readdir(s.spools), [], 'and not copied again');
  // It arrives further: verified again from the start.
  await writePayload(s.bundle, FILES[0]!);
  await writePayload(s.bundle, FILES[2]!);
  await lookUntil(s, stager, (x) => x.state === 'staged', 'staged once it arrives again');
});

t.test('a FIFO swapped in for a payload file never blocks, and is not verified until the real file is back', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  for (const f of FILES) await writePayload(s.bundle, f);
  const shard = path.join(s.bundle, 'payload', FILES[2]!.path);
  await fsp.rm(shard);
  execFileSync('mkfifo', [shard]);
  const held = await lookUntil(s, stager, (x) => x.filesVerified === 2, 'the regular files verified');
  t.equal(held.state, 'staging', 'the FIFO is not what the manifest lists: the bundle waits for it');
  await fsp.rm(shard);
  await writePayload(s.bundle, FILES[2]!);
  await lookUntil(s, stager, (x) => x.state === 'staged', 'staged with the real file');
});

t.test('a payload folder swapped for a symlink to outside is never followed: nothing outside is copied', async (t) => {
  const s = await setup(t);
  const stager = stagerFor(s);
  t.teardown(() => stager.close());
  await writeHead(s.bundle, FILES, [s.key]);
  await writePayload(s.bundle, FILES[0]!);
  // Outside the drop, a folder holding the very bytes the manifest lists: only a followed link could make them count.
  const outside = path.join(s.root, 'outside');
  await fsp.mkdir(outside);
  for (const f of FILES.slice(1)) await fsp.writeFile(path.join(outside, path.basename(f.path)), f.data!);
  await fsp.symlink(outside, path.join(s.bundle, 'payload', 'weights'));
  const summary = await lookUntil(s, stager, (x) => x.state === 'off', 'the linked files failed');
  t.equal(summary.filesVerified, 1, 'only the file really in the bundle');
  const spool = (await Spool.open(s.spools, s.bundle))!;
  for (const f of FILES.slice(1)) t.notOk(await spool.hasBlob(sha256(f.data!), f.data!.length), `${f.path} was never copied from outside`);
});
