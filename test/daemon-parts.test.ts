// Sneakernet across several sticks (docs/parts.md): the real daemon watching a media root, parts of one split
// bundle arriving on two simulated sticks (folders renamed into the media root, as a mount makes a stick's files
// appear at once) in shuffled order. Each part is checked against the signed index the moment it appears,
// spooled into the store, a bad copy refused by itself; the install completes from the spool.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkStore } from '../src/store/check-store.js';
import { childEnv } from './helpers/cli.js';
import { auditLines, startTestDaemon, type TestDaemon } from './helpers/daemon.js';
import { packFixture, type PackedFixture } from './helpers/fixtures.js';
import { makeKey, sshSign } from './helpers/keys.js';
import { scratchDir } from './helpers/scratch.js';

const DEMO_KEY = path.resolve('fixtures', 'keys', 'demo_ed25519');

interface Index {
  parts: Array<{ name: string; size: number; sha256: string }>;
}

interface Split {
  packed: PackedFixture;
  dir: string;
  names: string[];
  index: string;
  signatures: string;
}

async function packSplit(t: Test, name: string): Promise<Split> {
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name, split: '4K' });
  const index = JSON.parse(readFileSync(packed.location, 'utf8')) as Index;
  return {
    packed,
    dir: path.dirname(packed.location),
    names: index.parts.map((p) => p.name),
    index: packed.location,
    signatures: packed.location.replace(/\.parts\.json$/, '.parts.signatures'),
  };
}

/** Make a stick's folder outside the media root, fill it, then "mount" it: renamed in, its files appear at once. */
async function mountStick(media: string, label: string, fill: (dir: string) => Promise<void>): Promise<string> {
  const prep = path.join(path.dirname(media), `.prep-${label}`);
  await fsp.mkdir(prep, { recursive: true });
  await fill(prep);
  const stick = path.join(media, label);
  await fsp.rename(prep, stick);
  return stick;
}

async function copyIndex(s: Split, to: string): Promise<void> {
  await fsp.copyFile(s.index, path.join(to, path.basename(s.index)));
  execFileSync('cp', ['-r', s.signatures, to]);
}

async function copyParts(s: Split, to: string, which: number[]): Promise<void> {
  for (const i of which) await fsp.copyFile(path.join(s.dir, s.names[i]!), path.join(to, s.names[i]!));
}

function spoolDirs(d: TestDaemon): string[] {
  const root = path.join(d.store, 'daemon', 'spool', 'parts');
  return existsSync(root) ? execFileSync('ls', [root], { encoding: 'utf8' }).split('\n').filter(Boolean) : [];
}

async function daemonWithMedia(t: Test, dir: string, extra: Record<string, unknown> = {}): Promise<{ d: TestDaemon; media: string }> {
  const media = path.join(dir, 'media');
  await fsp.mkdir(media, { recursive: true });
  const d = await startTestDaemon(t, { dir, config: { mediaRoots: [media], mediaDepth: 3, ...extra } });
  return { d, media };
}

t.test('parts on two sticks in shuffled order: a corrupted copy is refused alone, the good copy completes the install', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/sticks');
  t.ok(s.names.length >= 6, `several parts (${s.names.length})`);
  const n = s.names.length;
  const bad = 2;
  // Stick A: the index, parts in a shuffled order, part 2 corrupted (same size, one byte off).
  const onA = [n - 1, bad, 0, 3];
  const stickA = await mountStick(media, 'STICK-A', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, onA);
    const victim = path.join(to, s.names[bad]!);
    const bytes = readFileSync(victim);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40;
    await fsp.writeFile(victim, bytes);
  });
  const partial = await d.waitFor(
    (bs) => bs.find((b) => b.arrival.parts && b.arrival.parts.received === onA.length - 1 && b.arrival.parts.rejected.length === 1),
    { what: 'stick A spooled, its bad copy refused' },
  );
  t.equal(partial.state, 'arriving');
  t.equal(partial.form, 'split');
  const p = partial.arrival.parts!;
  t.match(p.rejected[0], { part: s.names[bad], stick: 'stick STICK-A', code: 'PART_CORRUPT', path: path.join(stickA, s.names[bad]!) });
  t.match(p.rejected[0]!.message, /does not match the signed parts index .*; refused, the parts already spooled are kept/);
  t.match(
    p.message,
    new RegExp(`^parts ${onA.length - 1} of ${n} received; stick STICK-A may be removed; waiting for ${n - onA.length + 1} more part\\(s\\)$`),
  );
  t.match(p.sticks, [{ label: 'STICK-A', present: true, partsReceived: onA.length - 1, removable: true }]);
  t.equal(partial.arrival.bytesExpected, (JSON.parse(readFileSync(s.index, 'utf8')) as { size: number }).size, 'the whole tar is expected');
  const rejectedAudit = auditLines(d, 'part-rejected');
  t.ok(
    rejectedAudit.some((l) => l['code'] === 'PART_CORRUPT' && String(l['message']).includes(`part ${s.names[bad]} on stick STICK-A`)),
    'the audit trail names the part and the stick',
  );
  t.equal(auditLines(d, 'part-spooled').length, onA.length - 1);

  // The stick is removed (its parts are in the store); the second one brings the rest, the good part 2 among them.
  await fsp.rm(stickA, { recursive: true });
  const rest = s.names.map((_, i) => i).filter((i) => !onA.includes(i) || i === bad);
  await mountStick(media, 'STICK-B', async (to) => {
    await copyParts(s, to, rest.reverse());
  });
  const done = await d.waitFor((bs) => bs.find((b) => b.manifestDigest === s.packed.manifestDigest && b.state === 'installed'), {
    what: 'installed from the spool',
    timeoutMs: 120_000,
  });
  t.match(done.arrival.parts, { received: n, total: n, rejected: [{ part: s.names[bad] }] });
  t.match(done.install, { status: 'installed' });
  t.ok(existsSync(done.install!.path), 'deployment in the store');
  t.ok(
    d.lines().some((l) => l.msg === 'every part spooled; installing' && l['unpacked'] === true),
    'the entries were unpacked and verified while the parts arrived: the install links them',
  );
  t.same(await checkStore(d.store, { deep: true }), [], 'every installed byte re-hashes to its manifest digest');
  await sleep(300);
  t.same(spoolDirs(d), [], 'the spool is removed once installed');
  const spooled = auditLines(d, 'part-spooled');
  t.equal(spooled.length, n, 'every part spooled exactly once');
  t.ok(
    spooled.some((l) => String(l['message']).includes(`part ${s.names[bad]} (${bad + 1} of ${n}) from stick STICK-B`)),
    'the good copy came from stick B',
  );
});

t.test('a duplicate part on a second stick is ignored once its hash matches', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/duplicates');
  const n = s.names.length;
  await mountStick(media, 'ONE', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, [0, 1]);
  });
  await d.waitFor((bs) => bs.find((b) => b.arrival.parts?.received === 2 && b.arrival.parts.duplicates === 0), { what: 'two parts spooled' });
  // Stick TWO holds part 1 again (and its index), but not the last part: the duplicate is read and ignored.
  await mountStick(media, 'TWO', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, [1, 2]);
  });
  const b = await d.waitFor((bs) => bs.find((x) => x.arrival.parts?.duplicates === 1 && x.arrival.parts.received === 3), {
    what: 'the duplicate judged',
  });
  t.same(b.arrival.parts!.rejected, [], 'a matching duplicate is no refusal');
  t.equal(b.arrival.parts!.sticks.length, 2);
  await mountStick(media, 'THREE', async (to) => copyParts(s, to, [...Array(n).keys()].slice(3)));
  const done = await d.waitFor((bs) => bs.find((x) => x.manifestDigest === s.packed.manifestDigest && x.state === 'installed'), {
    what: 'installed',
    timeoutMs: 120_000,
  });
  t.equal(done.arrival.parts!.received, n);
  t.equal(auditLines(d, 'part-spooled').filter((l) => String(l['message']).includes(s.names[1]!)).length, 1, 'part 1 spooled once');
});

t.test('spooled parts survive a daemon restart; the install completes without the first stick', async (t) => {
  const dir = scratchDir(t);
  const first = await daemonWithMedia(t, dir);
  const s = await packSplit(t, 'test/restart');
  const n = s.names.length;
  const stickA = await mountStick(first.media, 'STICK-A', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, [0, 1, 2]);
  });
  await first.d.waitFor((bs) => bs.find((b) => b.arrival.parts?.received === 3), { what: 'three parts spooled' });
  t.equal((await first.d.stop()).code, 0, 'stopped cleanly');
  // While the daemon is down the first stick is taken away.
  await fsp.rm(stickA, { recursive: true });

  const again = await startTestDaemon(t, { dir, config: { mediaRoots: [first.media], mediaDepth: 3 } });
  t.teardown(() => again.stop());
  const resumed = await again.waitFor((bs) => bs.find((b) => b.arrival.parts?.received === 3), { what: 'the spool resumed' });
  t.equal(resumed.state, 'arriving');
  t.match(resumed.arrival.parts, { total: n, sticks: [{ label: 'STICK-A', present: false, partsReceived: 3 }] });
  await mountStick(first.media, 'STICK-B', async (to) => copyParts(s, to, [...Array(n).keys()].slice(3)));
  const done = await again.waitFor((bs) => bs.find((b) => b.manifestDigest === s.packed.manifestDigest && b.state === 'installed'), {
    what: 'installed after the restart',
    timeoutMs: 120_000,
  });
  t.equal(done.arrival.parts!.received, n);
  t.equal(auditLines(again, 'part-spooled').length, n - 3, 'only the parts of the second stick were read after the restart');
});

t.test('a signed index that does not hold is refused with its code and nothing is spooled', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const mallory = makeKey(dir, 'mallory');

  const resigned = await packSplit(t, 'test/resigned');
  await mountStick(media, 'RESIGNED', async (to) => {
    await copyIndex(resigned, to);
    await copyParts(resigned, to, [0, 1, 2]);
    const sigs = path.join(to, path.basename(resigned.signatures));
    await fsp.rm(sigs, { recursive: true });
    await fsp.mkdir(sigs);
    await fsp.writeFile(path.join(sigs, 'mallory.sig'), sshSign(mallory, readFileSync(resigned.index), 'airlock-parts'));
  });
  const r1 = await d.waitFor((bs) => bs.find((b) => b.location.includes('RESIGNED') && b.state === 'rejected'), {
    what: 'the re-signed index refused',
  });
  t.equal(r1.error?.code, 'UNTRUSTED_SIGNER');
  t.match(r1.error?.failures, [{ code: 'UNTRUSTED_SIGNER', path: /parts\.signatures\/mallory\.sig$/ }, { code: 'THRESHOLD_NOT_MET' }]);

  const edited = await packSplit(t, 'test/edited');
  const index = JSON.parse(readFileSync(edited.index, 'utf8')) as Index;
  await mountStick(media, 'EDITED', async (to) => {
    await copyIndex(edited, to);
    await copyParts(edited, to, [0, 1]);
    const text = readFileSync(edited.index, 'utf8').replace(index.parts[1]!.sha256, 'e'.repeat(64));
    await fsp.writeFile(path.join(to, path.basename(edited.index)), text);
  });
  const r2 = await d.waitFor((bs) => bs.find((b) => b.location.includes('EDITED') && b.state === 'rejected'), { what: 'the edited index refused' });
  t.equal(r2.error?.code, 'SIGNATURE_INVALID');
  t.ok(auditLines(d, 'rejected').some((l) => String(l['location']).includes('EDITED')));
  await sleep(500);
  t.same(spoolDirs(d), [], 'nothing spooled for either');
  t.equal(auditLines(d, 'part-spooled').length, 0);
});

t.test('hostile drops: a FIFO or a symlink in place of a part is refused with WRONG_TYPE; the real parts complete it', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/hostile-parts');
  const n = s.names.length;
  await mountStick(media, 'EVIL', async (to) => {
    await copyIndex(s, to);
    execFileSync('mkfifo', [path.join(to, s.names[1]!)]);
    await fsp.symlink(path.join(s.dir, s.names[2]!), path.join(to, s.names[2]!));
    await copyParts(s, to, [0]);
  });
  const b = await d.waitFor((bs) => bs.find((x) => (x.arrival.parts?.rejected.length ?? 0) >= 2 && x.arrival.parts!.received === 1), {
    what: 'the FIFO and the symlink refused',
  });
  const codes = b.arrival.parts!.rejected.map((r) => `${r.part}:${r.code}`).sort();
  t.same(codes, [`${s.names[1]}:WRONG_TYPE`, `${s.names[2]}:WRONG_TYPE`]);
  t.ok(b.arrival.parts!.rejected.some((r) => /is a FIFO; a part is read only from a regular file/.test(r.message)));
  t.ok(b.arrival.parts!.rejected.some((r) => /is a symlink/.test(r.message)));
  await mountStick(media, 'GOOD', async (to) => copyParts(s, to, [...Array(n).keys()].slice(1)));
  const done = await d.waitFor((bs) => bs.find((x) => x.manifestDigest === s.packed.manifestDigest && x.state === 'installed'), {
    what: 'installed from the real parts',
    timeoutMs: 120_000,
  });
  t.equal(done.arrival.parts!.received, n);
});

t.test('an unsigned index is not spooled: its parts must be in one folder, as before', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/unsigned');
  await fsp.rm(s.signatures, { recursive: true });
  const stick = await mountStick(media, 'OLD', async (to) => {
    await fsp.copyFile(s.index, path.join(to, path.basename(s.index)));
    await copyParts(s, to, [0, 1]);
  });
  const b = await d.waitFor((bs) => bs.find((x) => x.location === path.join(stick, path.basename(s.index))), { what: 'the legacy record' });
  t.equal(b.state, 'arriving');
  t.equal(b.arrival.parts, undefined, 'no spool');
  await sleep(1000);
  t.same(spoolDirs(d), []);
  await copyParts(s, stick, [...s.names.keys()].slice(2));
  const done = await d.waitFor((bs) => bs.find((x) => x.manifestDigest === s.packed.manifestDigest && x.state === 'installed'), {
    what: 'installed from one folder',
    timeoutMs: 120_000,
  });
  t.equal(done.location, path.join(stick, path.basename(s.index)));
});

t.test('an abandoned spool is reclaimed after arrival.parts.abandonAfterHours, with its record', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir, { arrival: { parts: { abandonAfterHours: 0.001 } } });
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/abandoned');
  const stick = await mountStick(media, 'LONELY', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, [0]);
  });
  const b = await d.waitFor((bs) => bs.find((x) => x.arrival.parts?.received === 1), { what: 'one part spooled' });
  t.equal(spoolDirs(d).length, 1);
  await fsp.rm(stick, { recursive: true });
  await d.waitFor((bs) => !bs.some((x) => x.id === b.id) && spoolDirs(d).length === 0, { what: 'the spool reclaimed', timeoutMs: 60_000 });
  t.ok(auditLines(d, 'gone').some((l) => l['recordId'] === b.id));
});

t.test('a trusted index over parts whose payload does not match the manifest: spooled, then rejected with the payload code', async (t) => {
  const dir = scratchDir(t);
  const { d, media } = await daemonWithMedia(t, dir);
  t.teardown(() => d.stop());
  const s = await packSplit(t, 'test/signer-error');
  // A signer's mistake, not a forgery: the parts match the (re-signed) index, one payload file not the manifest.
  const parts = s.names.map((n) => readFileSync(path.join(s.dir, n)));
  const whole = Buffer.concat(parts);
  const at = whole.indexOf(readFileSync(path.resolve('fixtures', 'model-dir', 'model-00002-of-00002.safetensors')).subarray(0, 256)) + 100;
  t.ok(at > 100, 'the file is in the tar');
  const size = parts[0]!.length;
  const i = Math.floor(at / size);
  const changed = Buffer.from(parts[i]!);
  changed[at - i * size] = changed[at - i * size]! ^ 0x01;
  await fsp.writeFile(path.join(s.dir, s.names[i]!), changed);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const text = readFileSync(s.index, 'utf8')
    .replace(sha(parts[i]!), sha(changed))
    .replace(sha(whole), sha(Buffer.concat(parts.map((p, k) => (k === i ? changed : p)))));
  await fsp.writeFile(s.index, text);
  await fsp.rm(s.signatures, { recursive: true });
  execFileSync(process.execPath, [path.resolve('bin', 'airlock'), 'sign', s.index, '--key', DEMO_KEY, '--label', 'demo'], { env: childEnv() });
  await mountStick(media, 'ALL', async (to) => {
    await copyIndex(s, to);
    await copyParts(s, to, [...s.names.keys()]);
  });
  const b = await d.waitFor((bs) => bs.find((x) => x.location.includes('/spool/') && (x.state === 'rejected' || x.state === 'installed')), {
    what: 'the spooled bundle judged',
    timeoutMs: 120_000,
  });
  t.equal(b.state, 'rejected');
  t.equal(b.error?.code, 'HASH_MISMATCH');
  t.match(b.error?.failures, [{ code: 'HASH_MISMATCH', path: 'payload/model-00002-of-00002.safetensors' }]);
  t.equal(b.arrival.parts!.received, s.names.length, 'every part matched the signed index');
  t.ok(
    d.lines().some((l) => l.msg === 'unpacking the spooled parts stopped; the install reads them itself' && l['code'] === 'HASH_MISMATCH'),
    'the unpacking stopped at the bad file',
  );
  t.notOk(existsSync(path.join(d.store, 'deployments', 'test_signer-error')), 'nothing installed');
});
