// The parts spool's pure decisions (src/spool/decisions.ts), without any file system: which copy is read or
// refused, which stick may be removed, what the record says, what is abandoned, where a stick begins.
import t from 'tap';
import {
  abandonedSpools,
  contiguousParts,
  copyFingerprint,
  nextCopyAction,
  partsArrival,
  partsMessage,
  stickOf,
  stickStates,
  type PartCopy,
  type SpoolView,
} from '../src/spool/decisions.js';

const parts = [0, 1, 2, 3].map((i) => ({ name: `x.airlock.tar.00${i}`, size: i === 3 ? 10 : 100, sha256: String(i).repeat(64) }));
const A = { label: 'STICK-A', path: '/media/u/STICK-A', media: true };
const B = { label: 'STICK-B', path: '/media/u/STICK-B', media: true };

function copy(part: number, stick = A, extra: Partial<PartCopy> = {}): PartCopy {
  return {
    path: `${stick.path}/x.airlock.tar.00${part}`,
    part: `x.airlock.tar.00${part}`,
    stick,
    type: 'file',
    size: parts[part]!.size,
    mtimeMs: 1,
    ctimeMs: 1,
    ino: 100 + part,
    stableSince: 0,
    ...extra,
  };
}

const view = (spooled: number[] = [], judged: PartCopy[] = []): SpoolView => ({
  parts,
  spooled: new Set(spooled.map((i) => parts[i]!.name)),
  judged: new Set(judged.map(copyFingerprint)),
});

t.test('parts still needed are read first, lowest first; duplicates last; nothing unsettled or short', async (t) => {
  const copies = [copy(2), copy(1, B), copy(0, B, { stableSince: 900 }), copy(3, A, { size: 5 })];
  t.match(
    nextCopyAction(view(), copies, 1000, 250),
    { kind: 'read', purpose: 'spool', part: { name: 'x.airlock.tar.001' } },
    'part 0 is still settling',
  );
  t.match(nextCopyAction(view(), copies, 1200, 250), { kind: 'read', part: { name: 'x.airlock.tar.000' } }, 'settled now');
  const dup = nextCopyAction(view([0, 1, 2]), copies, 1200, 250);
  t.match(dup, { kind: 'read', purpose: 'duplicate', part: { name: 'x.airlock.tar.000' } }, 'only copies of spooled parts left: read to confirm');
  t.equal(
    nextCopyAction(view([0, 1, 2], [copies[0]!, copies[1]!, copies[2]!]), copies, 1200, 250),
    undefined,
    'judged copies are never read again; a short one waits',
  );
  t.match(nextCopyAction(view([0, 1, 2], [copies[0]!, copies[1]!, copies[2]!]), [...copies, copy(3, B)], 1200, 250), {
    kind: 'read',
    copy: { stick: B },
  });
});

t.test('a copy that is not a regular file, or larger than its part, is refused unread, naming the part and the stick', async (t) => {
  const fifo = copy(1, B, { type: 'a FIFO', size: 0 });
  t.match(nextCopyAction(view(), [copy(0), fifo], 10, 0), {
    kind: 'refuse',
    code: 'WRONG_TYPE',
    message: 'part x.airlock.tar.001 on stick STICK-B is a FIFO; a part is read only from a regular file',
  });
  const link = copy(0, A, { type: 'a symlink', size: 40 });
  t.match(nextCopyAction(view(), [link], 10, 0), { kind: 'refuse', code: 'WRONG_TYPE' });
  const big = copy(2, A, { size: 101, stableSince: 5 });
  t.equal(nextCopyAction(view(), [big], 10, 250), undefined, 'a larger copy may still be changing: wait');
  t.match(nextCopyAction(view(), [big], 300, 250), { kind: 'refuse', code: 'PART_CORRUPT', message: /is 101 bytes; the signed index lists 100/ });
  const drop = { label: 'in', path: '/srv/drop/in', media: false };
  t.match(nextCopyAction(view(), [copy(2, drop, { type: 'a directory' })], 10, 0), {
    message: /^part x\.airlock\.tar\.002 on folder \/srv\/drop\/in is a directory/,
  });
});

t.test('a copy is judged by path and stat: a changed file is a new copy', async (t) => {
  const c = copy(0);
  t.not(copyFingerprint(c), copyFingerprint({ ...c, mtimeMs: 2 }));
  t.not(copyFingerprint(c), copyFingerprint({ ...c, ino: 7 }));
  t.not(copyFingerprint(c), copyFingerprint({ ...c, path: '/elsewhere' }));
  t.equal(copyFingerprint(c), copyFingerprint({ ...c, stableSince: 99 } as PartCopy));
});

t.test('a stick may be removed once nothing on it is wanted or being read', async (t) => {
  const v = view([0, 2]);
  const copies = [copy(0), copy(2), copy(1, B), copy(0, B)];
  const spooledFrom = [{ stick: A, parts: 2 }];
  const states = stickStates(v, copies, spooledFrom);
  t.match(states, [
    { label: 'STICK-A', present: true, partsReceived: 2, removable: true },
    { label: 'STICK-B', present: true, partsReceived: 0, removable: false },
  ]);
  t.match(stickStates(v, copies, spooledFrom, copies[0]!.path), [{ label: 'STICK-A', removable: false }], 'not while a copy on it is read');
  const gone = stickStates(v, [copy(1, B)], spooledFrom);
  t.match(gone, [{ label: 'STICK-A', present: false, partsReceived: 2 }]);
  const refusedOnly = stickStates(view([0], [copy(1, B, { type: 'a FIFO' })]), [copy(1, B, { type: 'a FIFO' })], []);
  t.match(refusedOnly, [{ label: 'STICK-B', removable: true }], 'a refused copy is not wanted');
});

t.test("the record's words: parts N of M received; which sticks may be removed", async (t) => {
  const s = (label: string, extra = {}) => ({
    label,
    path: `/media/u/${label}`,
    media: true,
    present: true,
    partsReceived: 1,
    removable: true,
    ...extra,
  });
  t.equal(partsMessage(4, 9, [s('STICK-A')]), 'parts 4 of 9 received; stick STICK-A may be removed; waiting for 5 more part(s)');
  t.equal(
    partsMessage(4, 9, [s('A'), s('B'), s('C', { removable: false })]),
    'parts 4 of 9 received; sticks A and B may be removed; waiting for 5 more part(s)',
  );
  t.equal(partsMessage(4, 9, [s('A', { removable: false })]), 'parts 4 of 9 received; waiting for 5 more part(s)');
  t.equal(partsMessage(4, 9, [s('A')], { part: 'x.005', stick: 'stick B' }), 'parts 4 of 9 received; reading x.005 from stick B');
  t.equal(partsMessage(9, 9, [s('A'), s('B', { present: false })]), 'parts 9 of 9 received; stick A may be removed');
  t.equal(
    partsMessage(2, 3, [{ label: 'in', path: '/srv/drop/in', media: false, present: true, partsReceived: 2, removable: true }]),
    'parts 2 of 3 received; folder /srv/drop/in may be removed; waiting for 1 more part(s)',
  );
});

t.test('the parts progress is bounded: sticks and refusals', async (t) => {
  const sticks = Array.from({ length: 50 }, (_, i) => ({
    label: `S${i}`,
    path: `/m/S${i}`,
    media: true,
    present: false,
    partsReceived: 1,
    removable: true,
  }));
  const rejected = Array.from({ length: 30 }, (_, i) => ({
    part: 'p',
    stick: 's',
    path: '/p',
    code: 'PART_CORRUPT',
    message: `m${i}`,
    at: '2026-01-01T00:00:00Z',
  }));
  const p = partsArrival({ total: 50, received: 50, bytesReceived: 1, bytesTotal: 1, sticks, rejected, duplicates: 0, unpackedParts: 0 });
  t.equal(p.sticks.length, 32);
  t.equal(p.rejected.length, 20);
  t.equal(p.rejected[19]!.message, 'm29', 'the newest kept');
});

t.test('parts unpackable: the run of spooled parts from the first', async (t) => {
  t.equal(contiguousParts(parts, new Set()), 0);
  t.equal(contiguousParts(parts, new Set([parts[1]!.name])), 0, 'nothing before part 0');
  t.equal(contiguousParts(parts, new Set([parts[0]!.name, parts[1]!.name, parts[3]!.name])), 2);
  t.equal(contiguousParts(parts, new Set(parts.map((p) => p.name))), 4);
});

t.test('spools idle for too long are abandoned, never one being installed', async (t) => {
  const h = 3_600_000;
  const spools = [
    { key: 'old', lastActivity: 0, busy: false },
    { key: 'busy', lastActivity: 0, busy: true },
    { key: 'fresh', lastActivity: 5 * h, busy: false },
  ];
  t.same(abandonedSpools(spools, 6 * h, 2 * h), ['old']);
  t.same(abandonedSpools(spools, 6 * h, 7 * h), []);
});

t.test("a stick is its mount point below the root; a simulated one is the root's first folder", async (t) => {
  const root = { path: '/media', dev: 1, media: true };
  t.same(
    stickOf(root, [
      { path: '/media/u', dev: 1 },
      { path: '/media/u/KINGSTON', dev: 7 },
      { path: '/media/u/KINGSTON/bundles', dev: 7 },
    ]),
    { label: 'KINGSTON', path: '/media/u/KINGSTON', media: true },
  );
  t.same(stickOf(root, [{ path: '/media/STICK-A', dev: 1 }]), { label: 'STICK-A', path: '/media/STICK-A', media: true });
  t.same(stickOf({ path: '/srv/drop', dev: 1, media: false }, []), { label: 'drop', path: '/srv/drop', media: false }, 'directly in the root');
});
