// The decisions of verifying while a bundle arrives, without a file system: which files are ready, what is copied
// again, when the tracker may hand a bundle on, which spools are reclaimed.
import t from 'tap';
import type { Expected, SourceStamp } from '../src/format/payload.js';
import { bytesToStage, planStaging, spoolsToReclaim, stagingState, type FileWatch, type StagingBook } from '../src/spool/plan.js';
import { decideArrival } from '../src/watcher/arrival.js';
import type { Probe } from '../src/watcher/probe.js';

const file = (path: string, size: number): Expected => ({ path, size, sha256: 'a'.repeat(64), role: 'payload', manifestPath: path });
const stamp = (size: number, mtimeMs = 1000, extra: Partial<SourceStamp> = {}): SourceStamp => ({
  dev: 1,
  ino: 7,
  size,
  mtimeMs,
  ctimeMs: mtimeMs,
  ...extra,
});
const book = (b: Partial<StagingBook> = {}): StagingBook => ({ seen: new Map(), staged: new Map(), failed: new Map(), busy: new Set(), ...b });
const SETTLE = 250;

t.test('a file is copied only after it has its listed size and kept the same stamp for the settle time', async (t) => {
  const files = [file('payload/a', 10)];
  const first = planStaging(files, [stamp(10, 5000)], book(), 5000, SETTLE);
  t.same(first.ready, [], 'just written: not settled yet');
  t.equal(first.changed, true);
  const early = planStaging(files, [stamp(10, 5000)], book({ seen: first.seen }), 5000 + SETTLE - 1, SETTLE);
  t.same(early.ready, []);
  t.equal(early.changed, false, 'the same stamp is no change');
  const settled = planStaging(files, [stamp(10, 5000)], book({ seen: first.seen }), 5000 + SETTLE, SETTLE);
  t.same(
    settled.ready.map((r) => r.file.path),
    ['payload/a'],
  );
  t.same(settled.ready[0]!.stamp, stamp(10, 5000), 'copied from exactly the stamp that settled');
});

t.test('the settle time counts from the ctime: a file that landed before the first look may be ready at once', async (t) => {
  const files = [file('payload/a', 10)];
  t.same(
    planStaging(files, [stamp(10, 1000)], book(), 1000 + SETTLE, SETTLE).ready.map((r) => r.file.path),
    ['payload/a'],
    'unchanged since its ctime, a settle time ago',
  );
  t.same(planStaging(files, [stamp(10, 1000)], book(), 1000 + SETTLE - 1, SETTLE).ready, [], 'not before');
  const ahead = planStaging(files, [stamp(10, 9000)], book(), 5000, SETTLE);
  t.equal(ahead.seen.get('payload/a')!.since, 5000, 'a ctime ahead of the clock counts from now');
});

t.test('a file still growing, shorter than listed, or missing is pending, never ready', async (t) => {
  const files = [file('payload/a', 10), file('payload/b', 10)];
  const seen = new Map<string, FileWatch>([['payload/a', { stamp: stamp(5), since: 0 }]]);
  const p = planStaging(files, [stamp(5), undefined], book({ seen }), 10_000, SETTLE);
  t.same(p.ready, []);
  t.same(p.progress, { filesListed: 2, filesVerified: 0, bytesVerified: 0, pending: 2, failed: 0 });
  // Growing restarts the settle time: a new stamp is new since now.
  const grown = planStaging(files, [stamp(10, 10_000), undefined], book({ seen }), 10_000, SETTLE);
  t.equal(grown.seen.get('payload/a')!.since, 10_000);
  t.same(grown.ready, []);
});

t.test('a file written again after its copy was made is copied again, and the old copy no longer counts', async (t) => {
  const files = [file('payload/a', 10)];
  const staged = new Map([['payload/a', stamp(10, 1000)]]);
  const seen = new Map<string, FileWatch>([['payload/a', { stamp: stamp(10, 1000), since: 0 }]]);
  const same = planStaging(files, [stamp(10, 1000)], book({ seen, staged }), 9000, SETTLE);
  t.same(same.progress, { filesListed: 1, filesVerified: 1, bytesVerified: 10, pending: 0, failed: 0 });
  t.equal(stagingState(same.progress), 'staged');

  for (const [what, now] of [
    ['mtime', stamp(10, 9000)],
    ['ctime', stamp(10, 1000, { ctimeMs: 9000 })],
    ['inode (replaced by rename)', stamp(10, 1000, { ino: 8, ctimeMs: 9000 })],
  ] as const) {
    const p = planStaging(files, [now], book({ seen, staged }), 9000, SETTLE);
    t.same(p.stale, ['payload/a'], `${what}: the copy is stale`);
    t.equal(p.progress.filesVerified, 0, `${what}: not verified any more`);
    t.equal(stagingState(p.progress), 'staging', `${what}: the bundle is not ready`);
    t.same(p.ready, [], `${what}: copied again only once the new stamp settled`);
    const later = planStaging(files, [now], book({ seen: p.seen, staged: new Map() }), 9000 + SETTLE, SETTLE);
    t.same(
      later.ready.map((r) => r.file.path),
      ['payload/a'],
      `${what}: then copied again`,
    );
  }
  const gone = planStaging(files, [undefined], book({ seen, staged }), 9000, SETTLE);
  t.same(gone.stale, ['payload/a'], 'a file that disappeared (or became a FIFO) loses its copy');
});

t.test('a failed file is not read again until it changes; a longer file fails without being read', async (t) => {
  const files = [file('payload/a', 10), file('payload/b', 10)];
  const seen = new Map<string, FileWatch>([
    ['payload/a', { stamp: stamp(10), since: 0 }],
    ['payload/b', { stamp: stamp(12), since: 0 }],
  ]);
  const failed = new Map([['payload/a', stamp(10)]]);
  const p = planStaging(files, [stamp(10), stamp(12)], book({ seen, failed }), 9000, SETTLE);
  t.same(p.ready, []);
  t.same(p.failNow, [{ path: 'payload/b', stamp: stamp(12) }]);
  t.same(p.progress, { filesListed: 2, filesVerified: 0, bytesVerified: 0, pending: 0, failed: 2 });
  t.equal(stagingState(p.progress), 'off', 'the install reports the failure, after the quiet period');
  const fixed = planStaging(files, [stamp(10, 3000), stamp(12)], book({ seen, failed }), 9000, SETTLE);
  t.same(fixed.retry, ['payload/a'], 'a changed file gets another chance');
});

t.test('a file being copied is not handed out twice', async (t) => {
  const files = [file('payload/a', 10)];
  const seen = new Map<string, FileWatch>([['payload/a', { stamp: stamp(10), since: 0 }]]);
  t.same(planStaging(files, [stamp(10)], book({ seen, busy: new Set(['payload/a']) }), 9000, SETTLE).ready, []);
});

t.test('space for what is still to be copied is whole blocks plus a margin', async (t) => {
  const files = [file('payload/a', 1), file('payload/b', 5000)];
  t.equal(bytesToStage(files, new Map(), 4096), 4096 + 8192 + 64 * 4096 + Math.ceil(12288 / 100));
  t.equal(bytesToStage(files, new Map([['payload/b', stamp(5000)]]), 4096), 4096 + 64 * 4096 + 41);
});

t.test('spools of drops that stopped changing are reclaimed after the keep time, never while copying', async (t) => {
  const spools = [
    { key: 'old', changedAt: 0, busy: false },
    { key: 'busy', changedAt: 0, busy: true },
    { key: 'fresh', changedAt: 9000, busy: false },
  ];
  t.same(spoolsToReclaim(spools, 10_000, 5000), ['old']);
  t.same(spoolsToReclaim(spools, 20_000, 5000), ['old', 'fresh']);
});

const probe = (p: Partial<Probe>): Probe => ({ gone: false, complete: true, bytesPresent: 10, bytesExpected: 10, fingerprint: 'f1', ...p });
const staging = (state: 'waiting' | 'staging' | 'staged' | 'off', bytesVerified = 0) => ({ state, bytesVerified, filesVerified: 0, filesListed: 1 });

t.test('a bundle whose every file is verified is complete at once, without the quiet period', async (t) => {
  const d = decideArrival(undefined, probe({ staging: staging('staged', 10) }), 1000, 3000);
  t.equal(d.kind, 'complete');
  t.match(d, { progress: { bytesPresent: 10, bytesExpected: 10, bytesVerified: 10, staging: 'staged' } });
  if (d.kind === 'complete') t.equal(d.state.handedOff, 'f1');
  // Then it is handed on once only.
  if (d.kind === 'complete') t.equal(decideArrival(d.state, probe({ staging: staging('staged', 10) }), 1100, 3000).kind, 'unchanged');
});

t.test('while files are being verified the quiet period does not end the arrival; without trust it does', async (t) => {
  const prev = { fingerprint: 'f1', stableSince: 0 };
  t.equal(decideArrival(prev, probe({ staging: staging('staging', 5) }), 60_000, 3000).kind, 'arriving');
  t.equal(decideArrival(prev, probe({ staging: staging('waiting') }), 60_000, 3000).kind, 'complete', 'unsigned: the install rejects it');
  t.equal(decideArrival(prev, probe({ staging: staging('off') }), 60_000, 3000).kind, 'complete', 'a failed file: the install reports it');
  t.equal(decideArrival(prev, probe({ staging: staging('off') }), 2000, 3000).kind, 'arriving', 'but only after the quiet period');
  t.equal(decideArrival(prev, probe({ complete: false, staging: staging('staged') }), 60_000, 3000).kind, 'arriving', 'never while incomplete');
});
