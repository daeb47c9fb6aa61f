// The real daemon (child process) against hostile drops and a failing host (issue 11): a FIFO cannot wedge its
// queue or its shutdown, an unwritable state file or audit trail makes it exit 74 instead of lingering, a
// symlinked drop folder is read through its real path, and junk with 18 000 failures is stored capped.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { BundleRecord } from '../src/pipeline/types.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';
import { startTestDaemon, testConfig, type TestDaemon } from './helpers/daemon.js';
import { defaultFiles, manifestFor, writeDirBundle } from './helpers/bundle-builder.js';
import { packFixture } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const run = promisify(execFile);
const DEMO_KEY = path.join(PACKAGE_ROOT, 'fixtures', 'keys', 'demo_ed25519');
const FINISHED = new Set(['installed', 'rejected', 'failed']);
const at = (location: string) => (bs: BundleRecord[]) => bs.find((b) => b.location === location);
const finishedAt = (location: string) => (bs: BundleRecord[]) => bs.find((b) => b.location === location && FINISHED.has(b.state));

/** A signed folder bundle with a FIFO as one of its signatures (rsync -a copies FIFOs; so can a stick). */
async function fifoBundle(t: Parameters<typeof packFixture>[0], name: string): Promise<string> {
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name });
  await run('mkfifo', [path.join(packed.location, 'signatures', 'x.sig')]);
  return packed.location;
}

/** The daemon stopped by SIGTERM ended, by a clean exit or (a thread stuck in a FIFO) by the signal itself. */
function endedBySigterm(t: Tap, exit: { code: number | null; signal: NodeJS.Signals | null }, d: TestDaemon): void {
  t.ok(exit.code === 0 || exit.signal === 'SIGTERM', `exit ${JSON.stringify(exit)}`);
  t.ok(
    d.lines().some((l) => l.msg === 'stopped'),
    'the graceful stop itself completed',
  );
}

type Tap = { ok(v: unknown, msg: string): unknown };

t.test('a FIFO named signatures/x.sig cannot wedge the queue, survive a restart, or hang the shutdown', async (t) => {
  const work = scratchDir(t);
  const daemonDir = path.join(work, 'daemon');
  const fifo = await fifoBundle(t, 'test/fifo');
  const good = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name: 'test/after-fifo' });

  // The readers refuse the FIFO at once (WRONG_TYPE); the stall deadline is the backstop, and a short one would also
  // end a good bundle on a loaded machine (a worker that takes seconds to start), so it stays well above that.
  const first = await startTestDaemon(t, { dir: daemonDir, config: { limits: { stallSeconds: 30 } } });
  const fifoDrop = path.join(first.drop, 'fifo');
  await run('rsync', ['-a', `${fifo}/`, `${fifoDrop}/`]);
  t.ok(statSync(path.join(fifoDrop, 'signatures', 'x.sig')).isFIFO(), 'rsync -a copied the FIFO');
  await first.waitFor(at(fifoDrop), { what: 'the FIFO bundle seen' });
  const goodDrop = path.join(first.drop, 'good');
  await run('rsync', ['-a', `${good.location}/`, `${goodDrop}/`]);
  const installed = await first.waitFor(finishedAt(goodDrop), { what: 'the bundle after the FIFO', timeoutMs: 90000 });
  t.equal(installed.state, 'installed', `the queue moved on past the FIFO bundle ${JSON.stringify(installed.error ?? null)}`);
  const stuck = await first.waitFor(finishedAt(fifoDrop), { what: 'the FIFO bundle finished' });
  // Failed STALLED while the bundle readers can block on a FIFO; rejected with a code once they refuse it.
  t.ok(stuck.state === 'failed' ? stuck.error?.code === 'STALLED' : stuck.state === 'rejected', `${stuck.state} ${stuck.error?.code}`);
  endedBySigterm(t, await first.stop(), first);

  // After a restart the finished FIFO drop is not read again; a new one, stuck mid-read, does not hold up SIGTERM.
  const second = await startTestDaemon(t, { dir: daemonDir });
  const again = path.join(second.drop, 'fifo-2');
  await run('rsync', ['-a', `${fifo}/`, `${again}/`]);
  await second.waitFor((bs) => bs.find((b) => b.location === again && (b.state === 'verifying' || FINISHED.has(b.state))), {
    what: 'the second FIFO bundle taken up',
  });
  t.match(
    (await second.bundles()).find((b) => b.location === fifoDrop),
    { state: stuck.state },
    'the first one is remembered as finished',
  );
  endedBySigterm(t, await second.stop(), second);
});

t.test('a second signal ends the daemon at once, even with a bundle stuck on a FIFO', async (t) => {
  const fifo = await fifoBundle(t, 'test/fifo-twice');
  const d = await startTestDaemon(t);
  const drop = path.join(d.drop, 'fifo');
  await run('rsync', ['-a', `${fifo}/`, `${drop}/`]);
  await d.waitFor((bs) => bs.find((b) => b.location === drop && (b.state === 'verifying' || FINISHED.has(b.state))), { what: 'taken up' });
  d.child.kill('SIGTERM');
  const exit = await d.stop('SIGINT');
  t.ok(exit.code === 0 || exit.signal === 'SIGINT' || exit.signal === 'SIGTERM', `exit ${JSON.stringify(exit)}`);
});

/** Wait for the daemon to end by itself. */
async function exitOf(d: TestDaemon): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (d.child.exitCode === null && d.child.signalCode === null) await once(d.child, 'exit');
  return { code: d.child.exitCode, signal: d.child.signalCode };
}

/** Drop something (anything) so that the daemon records and audits it. */
async function dropJunk(d: TestDaemon, name: string): Promise<void> {
  await fsp.mkdir(path.join(d.drop, name), { recursive: true });
  await fsp.writeFile(path.join(d.drop, name, 'airlock.json'), '{}');
}

t.test('a daemon that cannot write bundles.json exits 74 rather than lingering half-alive', async (t) => {
  const d = await startTestDaemon(t);
  // A folder where the state file goes: every atomic rename onto it fails (EISDIR), whoever runs the test.
  const state = path.join(d.store, 'daemon', 'bundles.json');
  await fsp.rm(state, { force: true });
  await fsp.mkdir(state);
  await dropJunk(d, 'junk');
  t.same(await exitOf(d), { code: 74, signal: null });
  t.ok(
    d.lines().some((l) => l.level === 60 && /daemon state/.test(l.msg)),
    'a fatal line says why',
  );
});

t.test('a daemon that cannot append to its audit trail exits 74', async (t) => {
  const d = await startTestDaemon(t);
  const trail = path.join(d.store, 'daemon', 'audit.jsonl');
  await fsp.rm(trail, { force: true });
  await fsp.mkdir(trail);
  await dropJunk(d, 'junk');
  t.same(await exitOf(d), { code: 74, signal: null });
  t.ok(d.lines().some((l) => l.level === 60 && /audit trail/.test(l.msg)));
});

t.test('a symlinked drop folder is watched by its real path; junk with 3000 failures is kept capped', async (t) => {
  const base = scratchDir(t);
  const real = path.join(base, 'srv-drop');
  const link = path.join(base, 'drop-link');
  await fsp.mkdir(real);
  await fsp.symlink(real, link);
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name: 'test/through-link' });
  const d = await startTestDaemon(t, { dir: path.join(base, 'daemon'), config: { dropFolders: [link] } });
  t.ok(
    d.lines().some((l) => l['path'] === link && l['realPath'] === real && /symlink/.test(l.msg)),
    'the resolution is logged',
  );
  const status = await d.api<{ watched: unknown[] }>('/v1/status');
  t.match(status.body.watched, [{ path: link, realPath: real, kind: 'drop', watching: true }]);

  await run('rsync', ['-a', `${packed.location}/`, path.join(link, 'tiny/')]);
  const b = await d.waitFor(finishedAt(path.join(real, 'tiny')), { what: 'the bundle rsynced through the link' });
  t.match(b, { state: 'installed', manifestDigest: packed.manifestDigest });

  // Signed (an unsigned one is refused from its signatures alone, never parsed), with 3000 paths that escape the tree.
  const manifest = manifestFor(defaultFiles());
  for (let i = 0; i < 3000; i++)
    (manifest.files as unknown[]).push({
      path: `${'p/'.repeat(20)}../../../../../../../../../../../../../../../../../../../../../x${i}`,
      size: 1,
      sha256: 'a'.repeat(64),
    });
  // ssh-keygen refuses a key others can read, and git does not keep file modes: sign with a private copy.
  const keyCopy = path.join(base, 'demo_ed25519');
  await fsp.copyFile(DEMO_KEY, keyCopy);
  await fsp.chmod(keyCopy, 0o600);
  const demo = { privatePath: keyCopy };
  await writeDirBundle(path.join(link, 'junk'), { manifest, signers: [demo] });
  const junk = await d.waitFor(finishedAt(path.join(real, 'junk')), { what: 'junk rejected' });
  t.match(junk, { state: 'rejected', error: { code: 'BAD_PATH' } });
  t.equal(junk.error?.failures.length, 100);
  t.ok(junk.error!.failureCount! >= 3000, `failureCount ${junk.error?.failureCount}`);
  const detail = await d.api<{ bundle: BundleRecord; audit: Array<{ event: string; failureCount?: number; failures?: unknown[] }> }>(
    `/v1/bundles/${junk.id}`,
  );
  t.match(
    detail.body.audit.find((e) => e.event === 'rejected'),
    { failureCount: junk.error!.failureCount },
  );
  t.equal(detail.body.audit.find((e) => e.event === 'rejected')!.failures!.length, 100);
  const exit = await d.stop();
  t.same(exit, { code: 0, signal: null });
  const stateFile = path.join(d.store, 'daemon', 'bundles.json');
  t.ok(statSync(stateFile).size < 100_000, `bundles.json ${statSync(stateFile).size} bytes`);
  t.same(schemaProblems('daemon-state', JSON.parse(readFileSync(stateFile, 'utf8'))), []);
  const trail = readFileSync(path.join(d.store, 'daemon', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; failureCount?: number });
  t.match(
    trail.find((e) => e.event === 'rejected'),
    { failureCount: junk.error!.failureCount },
  );
});

t.test('a drop folder that is a dangling symlink is refused with CONFIG_INVALID naming it', async (t) => {
  const dir = t.testdir();
  const link = path.join(dir, 'drop');
  await fsp.symlink(path.join(dir, 'nowhere'), link);
  const file = path.join(dir, 'config.json');
  await fsp.writeFile(file, JSON.stringify(testConfig(dir, { dropFolders: [link] })));
  const res = await airlock(['daemon', '--config', file]);
  t.equal(res.exitCode, 2);
  t.equal(res.errorCode, 'CONFIG_INVALID');
  t.match(res.stderr, link);
});
