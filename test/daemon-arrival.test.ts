// The real daemon verifying folder bundles while they arrive, fed by real rsync --bwlimit into its real drop
// folder: verified bytes grow while bytes still arrive, the install links the copies in; a file changed after
// its copy was made never installs stale; a restart resumes from the copies; a replaced manifest starts over;
// an untrusted bundle gets nothing copied; the copies of a drop that stopped arriving are reclaimed.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import type { BundleRecord } from '../src/pipeline/types.js';
import { spoolKey } from '../src/spool/spool.js';
import { listDeployments } from '../src/store/deployments.js';
import { manifestFor, sha256, type SourceFile } from './helpers/bundle-builder.js';
import { makeKey, sshSign, writeAllowedSigners, type TestKey } from './helpers/keys.js';
import { auditLines, startTestDaemon, type TestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

const bytes = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) % 251;
  return b;
};

interface Setup {
  work: string;
  key: TestKey;
  trust: string;
}

async function setup(t: Test): Promise<Setup> {
  const work = scratchDir(t);
  const key = makeKey(path.join(work, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(work, 'allowed_signers'), [{ principals: 'release@test.invalid', key }]);
  return { work, key, trust };
}

function daemon(t: Test, s: Setup, arrival: Record<string, unknown> = {}): Promise<TestDaemon> {
  return startTestDaemon(t, {
    dir: path.join(s.work, 'daemon'),
    config: { trust: { allowedSigners: s.trust, threshold: 1 }, quietPeriodMs: 1500, arrival: { settleMs: 150, ...arrival } },
  });
}

/** A folder bundle written to `dir` (outside the drop), signed by `signers`. */
async function bundleAt(dir: string, files: SourceFile[], signers: TestKey[], overrides: Record<string, unknown> = {}): Promise<Buffer> {
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files, overrides), null, 2) + '\n');
  await fsp.mkdir(path.join(dir, 'signatures'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'airlock.json'), manifestBytes);
  for (const f of files) {
    await fsp.mkdir(path.dirname(path.join(dir, 'payload', f.path)), { recursive: true });
    await fsp.writeFile(path.join(dir, 'payload', f.path), f.data!);
  }
  for (const [i, key] of signers.entries()) await fsp.writeFile(path.join(dir, 'signatures', `signer${i}.sig`), sshSign(key, manifestBytes));
  return manifestBytes;
}

/** rsync sends names in order, so signatures/ would come after payload/: the head goes first, as docs/arrival.md says. */
async function rsyncHead(src: string, dest: string, extra: string[] = []): Promise<void> {
  await run('rsync', ['-a', ...extra, '--include=/airlock.json', '--include=/signatures/***', '--exclude=*', `${src}/`, `${dest}/`]);
}

async function rsyncAll(src: string, dest: string, extra: string[] = []): Promise<void> {
  await run('rsync', ['-a', ...extra, `${src}/`, `${dest}/`]);
}

const spoolOf = (d: TestDaemon, location: string) => path.join(d.store, 'daemon', 'spool', 'staged', spoolKey(location));
const journal = async (d: TestDaemon, location: string) =>
  (await fsp.readFile(path.join(spoolOf(d, location), 'journal.jsonl'), 'utf8')).trim().split('\n');
const at = (location: string) => (bs: BundleRecord[]) => bs.find((b) => b.location === location);
const finished = (location: string) => (bs: BundleRecord[]) =>
  bs.find((b) => b.location === location && ['installed', 'rejected', 'failed'].includes(b.state));

t.test('rsync --bwlimit into the drop: files are verified while the rest arrives, and the install links them in', async (t) => {
  const s = await setup(t);
  const files: SourceFile[] = [
    { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') },
    { path: 'model-00001-of-00003.safetensors', data: bytes(3 * MiB, 1) },
    { path: 'model-00002-of-00003.safetensors', data: bytes(3 * MiB, 2) },
    { path: 'model-00003-of-00003.safetensors', data: bytes(3 * MiB, 3) },
  ];
  const total = files.reduce((n, f) => n + f.data!.length, 0);
  const src = path.join(s.work, 'bundle');
  const manifestBytes = await bundleAt(src, files, [s.key]);
  const d = await daemon(t, s);
  const dest = path.join(d.drop, 'model');
  await rsyncHead(src, dest);
  await d.waitFor((bs) => at(dest)(bs)?.arrival.staging === 'staging', { what: 'the head judged trusted' });
  // About 1.5 MB/s: each shard lands two seconds after the one before; the daemon verifies while later ones arrive.
  let sent = false;
  const sending = rsyncAll(src, dest, ['--bwlimit=1500K']).finally(() => (sent = true));
  const samples: BundleRecord[] = [];
  while (!sent) {
    const b = at(dest)(await d.bundles());
    if (b) samples.push(b);
    await new Promise((r) => setTimeout(r, 100));
  }
  await sending;
  const mid = samples.filter((b) => b.state === 'arriving' && (b.arrival.bytesVerified ?? 0) > 0 && b.arrival.bytesPresent < total);
  t.ok(mid.length > 0, 'bytes were verified while others still arrived');
  t.ok(
    samples.every((b) => (b.arrival.bytesVerified ?? 0) <= b.arrival.bytesPresent),
    'verified never exceeds arrived',
  );
  const done = await d.waitFor(finished(dest), { what: 'installed', timeoutMs: 60_000 });
  t.equal(done.state, 'installed', JSON.stringify(done.error ?? {}));
  t.equal(done.manifestDigest, sha256(manifestBytes));
  t.equal(done.install?.bytesVerified, total);
  t.equal(done.install?.bytesPrestaged, total, 'every byte was verified during arrival; none read again after');
  t.equal(done.arrival.bytesVerified, total);
  const [model] = await listDeployments(d.store);
  for (const f of files) t.same(await fsp.readFile(path.join(model!.current!.path, f.path)), f.data);
  await t.rejects(fsp.stat(spoolOf(d, dest)), { code: 'ENOENT' }, 'the copies became store content; the spool is gone');
});

t.test('a file rewritten after it was verified is verified again: the stale copy is never installed', async (t) => {
  const s = await setup(t);
  const files: SourceFile[] = [
    { path: 'a.bin', data: bytes(MiB, 4) },
    { path: 'b.bin', data: bytes(MiB, 5) },
  ];
  const src = path.join(s.work, 'bundle');
  await bundleAt(src, files, [s.key]);
  const d = await daemon(t, s);
  const dest = path.join(d.drop, 'model');
  await rsyncHead(src, dest);
  await fsp.mkdir(path.join(dest, 'payload'), { recursive: true });
  const a = path.join(dest, 'payload', 'a.bin');
  await fsp.copyFile(path.join(src, 'payload', 'a.bin'), a);
  await d.waitFor((bs) => (at(dest)(bs)?.arrival.bytesVerified ?? 0) >= MiB, { what: 'a.bin verified' });

  // A writer changes a.bin (same size, other bytes) after its copy was made, then the rest arrives.
  const wrong = bytes(MiB, 6);
  await fsp.writeFile(a, wrong);
  await fsp.copyFile(path.join(src, 'payload', 'b.bin'), path.join(dest, 'payload', 'b.bin'));
  const rejected = await d.waitFor(finished(dest), { what: 'a verdict', timeoutMs: 60_000 });
  t.equal(rejected.state, 'rejected', 'the good copy made earlier does not stand for the changed file');
  t.equal(rejected.error?.code, 'HASH_MISMATCH');
  t.equal(rejected.error?.path, 'payload/a.bin');
  t.same(await listDeployments(d.store), [], 'nothing installed');

  // Written back with the signed bytes: verified again, and installed.
  await fsp.writeFile(a, files[0]!.data!);
  const done = await d.waitFor((bs) => (at(dest)(bs)?.state === 'installed' ? at(dest)(bs) : undefined), { what: 'installed', timeoutMs: 60_000 });
  t.equal(done.install?.bytesPrestaged, 2 * MiB, 'both files from copies: a.bin was copied again once it settled');
  const [model] = await listDeployments(d.store);
  t.same(await fsp.readFile(path.join(model!.current!.path, 'a.bin')), files[0]!.data);
});

t.test('a daemon killed mid-arrival resumes from the copies it made, without reading those files again', async (t) => {
  const s = await setup(t);
  const files: SourceFile[] = [
    { path: 'a.bin', data: bytes(2 * MiB, 7) },
    { path: 'b.bin', data: bytes(2 * MiB, 8) },
    { path: 'c.bin', data: bytes(MiB, 9) },
  ];
  const src = path.join(s.work, 'bundle');
  await bundleAt(src, files, [s.key]);
  const first = await daemon(t, s);
  const dest = path.join(first.drop, 'model');
  await rsyncHead(src, dest);
  await fsp.mkdir(path.join(dest, 'payload'), { recursive: true });
  for (const n of ['a.bin', 'b.bin']) await fsp.copyFile(path.join(src, 'payload', n), path.join(dest, 'payload', n));
  await first.waitFor((bs) => at(dest)(bs)?.arrival.bytesVerified === 4 * MiB, { what: 'two files verified' });
  t.equal((await first.stop('SIGKILL')).signal, 'SIGKILL');
  const before = await journal(first, dest);
  t.equal(before.length, 3, 'a header and two copies');

  const second = await daemon(t, s);
  const resumed = await second.waitFor((bs) => (at(dest)(bs)?.arrival.bytesVerified === 4 * MiB ? at(dest)(bs) : undefined), {
    what: 'the copies counted again after the restart',
  });
  t.equal(resumed.state, 'arriving');
  t.same(await journal(second, dest), before, 'resumed: nothing copied again');
  await fsp.copyFile(path.join(src, 'payload', 'c.bin'), path.join(dest, 'payload', 'c.bin'));
  const done = await second.waitFor(finished(dest), { what: 'installed', timeoutMs: 60_000 });
  t.equal(done.state, 'installed', JSON.stringify(done.error ?? {}));
  t.equal(done.install?.bytesPrestaged, 5 * MiB);
  t.equal(auditLines(second, 'installed').length, 1);
});

t.test('a manifest replaced mid-arrival starts over: the bundle that installs is the one its manifest now names', async (t) => {
  const s = await setup(t);
  const first: SourceFile[] = [
    { path: 'a.bin', data: bytes(MiB, 10) },
    { path: 'b.bin', data: bytes(MiB, 11) },
  ];
  const second: SourceFile[] = [
    { path: 'a.bin', data: bytes(MiB, 12) },
    { path: 'b.bin', data: bytes(MiB, 11) },
  ];
  const srcA = path.join(s.work, 'bundle-a');
  const srcB = path.join(s.work, 'bundle-b');
  await bundleAt(srcA, first, [s.key]);
  const manifestB = await bundleAt(srcB, second, [s.key], { id: 'test-bundle-2', sequence: 2 });
  const d = await daemon(t, s);
  const dest = path.join(d.drop, 'model');
  await rsyncHead(srcA, dest);
  await fsp.mkdir(path.join(dest, 'payload'), { recursive: true });
  await fsp.copyFile(path.join(srcA, 'payload', 'a.bin'), path.join(dest, 'payload', 'a.bin'));
  await d.waitFor((bs) => at(dest)(bs)?.arrival.bytesVerified === MiB, { what: "bundle A's a.bin verified" });

  // -I: the new signature has the old one's size and may have its mtime, which rsync's quick check would skip.
  await rsyncHead(srcB, dest, ['-I']);
  await rsyncAll(srcB, dest, ['-I']);
  const done = await d.waitFor(finished(dest), { what: 'a verdict', timeoutMs: 60_000 });
  t.equal(done.state, 'installed', JSON.stringify(done.error ?? {}));
  t.equal(done.manifestDigest, sha256(manifestB), 'the new manifest');
  const [model] = await listDeployments(d.store);
  t.same(await fsp.readFile(path.join(model!.current!.path, 'a.bin')), second[0]!.data, "with the new manifest's bytes");
});

t.test('an untrusted bundle arriving with its payload gets nothing copied, and is rejected', async (t) => {
  const s = await setup(t);
  const stranger = makeKey(path.join(s.work, 'keys'), 'stranger');
  const files: SourceFile[] = [{ path: 'a.bin', data: bytes(2 * MiB, 13) }];
  const src = path.join(s.work, 'bundle');
  await bundleAt(src, files, [stranger]);
  const d = await daemon(t, s);
  const dest = path.join(d.drop, 'model');
  await rsyncHead(src, dest);
  await rsyncAll(src, dest, ['--bwlimit=2000K']);
  const seen: BundleRecord[] = [];
  const done = await d.waitFor(
    (bs) => {
      const b = at(dest)(bs);
      if (b) seen.push(b);
      return finished(dest)(bs);
    },
    { what: 'a verdict', timeoutMs: 60_000 },
  );
  t.equal(done.state, 'rejected');
  t.equal(done.error?.code, 'UNTRUSTED_SIGNER');
  t.ok(
    seen.every((b) => (b.arrival.bytesVerified ?? 0) === 0),
    'no byte verified',
  );
  t.ok(
    seen.filter((b) => b.state === 'arriving').every((b) => b.arrival.staging === 'waiting'),
    'waiting for trusted signatures throughout',
  );
  t.same(await fsp.readdir(path.join(d.store, 'daemon', 'spool', 'staged')).catch(() => []), [], 'no spool was ever made');
});

t.test('the copies of a drop that stopped arriving are reclaimed after arrival.keepStagedSeconds', async (t) => {
  const s = await setup(t);
  const files: SourceFile[] = [
    { path: 'a.bin', data: bytes(MiB, 14) },
    { path: 'b.bin', data: bytes(MiB, 15) },
  ];
  const src = path.join(s.work, 'bundle');
  await bundleAt(src, files, [s.key]);
  const d = await daemon(t, s, { keepStagedSeconds: 10 });
  const dest = path.join(d.drop, 'model');
  await rsyncHead(src, dest);
  await fsp.mkdir(path.join(dest, 'payload'), { recursive: true });
  await fsp.copyFile(path.join(src, 'payload', 'a.bin'), path.join(dest, 'payload', 'a.bin'));
  await d.waitFor((bs) => at(dest)(bs)?.arrival.bytesVerified === MiB, { what: 'a.bin verified' });
  t.ok((await fsp.stat(spoolOf(d, dest))).isDirectory(), 'kept while it arrives');
  // b.bin never comes.
  const deadline = Date.now() + 30_000;
  while (
    await fsp.stat(spoolOf(d, dest)).then(
      () => true,
      () => false,
    )
  ) {
    if (Date.now() > deadline) throw new Error('the spool was never reclaimed');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.ok(
    d.lines().some((l) => l.msg === 'removed the verified copies of drops that stopped arriving'),
    'logged',
  );
  const idle = await d.waitFor((bs) => (at(dest)(bs)?.arrival.staging === 'off' ? at(dest)(bs) : undefined), { what: 'left to the install' });
  t.equal(idle.state, 'arriving', 'still incomplete: nothing to install');
});
