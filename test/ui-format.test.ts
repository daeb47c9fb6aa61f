// The status page's pure formatting (ui/format.js), imported in Node as the browser imports it.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import type { PartsArrival } from '../src/watcher/parts-arrival.js';

interface Progress {
  bytesDone: number;
  bytesTotal: number;
  rate?: number;
  startedAt?: string;
  durationMs?: number;
  phase?: string;
}
interface Arrival {
  bytesPresent: number;
  bytesExpected?: number;
  bytesVerified?: number;
  staging?: string;
}
interface FormatModule {
  formatBytes(n: number): string;
  formatDuration(s: number): string;
  percent(done: number, total: number): number;
  secondsLeft(done: number, total: number, rate?: number): number | undefined;
  rateSince(done: number, startedAt: string | undefined, now?: number): number | undefined;
  arrivalText(a: Arrival, rate?: number): string;
  windowRate(samples: Array<{ at: number; bytes: number }>): number | undefined;
  verificationText(v: Progress, state: string, now?: number, arrival?: Arrival): string;
  arrivingVerificationText(a: Arrival): string;
  stateLabel(s: string): string;
  stateTone(s: string): string;
  canRetry(s: string): boolean;
  needsAttention(s: string): boolean;
  summaryParts(counts: Record<string, number>): Array<{ state: string; count: number; tone: string }>;
  summaryText(counts: Record<string, number> | undefined): string;
  replacement(rec: Partial<Rec>, models: Model[]): { bundleId: string; sequence: number; kept: boolean } | undefined;
  replacementText(r: { bundleId: string; sequence: number; kept: boolean }): string;
  duplicateText(of: { bundleId: string; location?: string; installedAt?: string } | undefined, now?: Date): string;
  cardTime(rec: Partial<Rec>, now?: Date): string;
  formatTime(iso: string, now?: Date): string;
  baseName(location: string): string;
  signerLine(s: { principals: string[]; fingerprint?: string; status: string }): string;
  partsView(p: PartsArrival | undefined):
    | {
        message: string;
        sticks: Array<{ text: string; removable: boolean }>;
        rejected: Array<{ code: string; text: string }>;
        reading?: string;
        duplicates?: string;
      }
    | undefined;
  partsVerificationText(p: PartsArrival, a?: Arrival): string;
}

interface Rec {
  state: string;
  name: string;
  manifestDigest: string;
  detectedAt: string;
  updatedAt: string;
}
interface Model {
  name: string;
  current?: { bundleId: string; sequence: number; manifestDigest: string };
  kept: Array<{ manifestDigest: string }>;
}

const f = (await import(pathToFileURL(path.join(PACKAGE_ROOT, 'ui', 'format.js')).href)) as FormatModule;

t.test('sizes in binary units with three significant digits', async (t) => {
  t.equal(f.formatBytes(0), '0 B');
  t.equal(f.formatBytes(1023), '1023 B');
  t.equal(f.formatBytes(1536), '1.50 KiB');
  t.equal(f.formatBytes(200 * 1024 ** 3), '200 GiB');
  t.equal(f.formatBytes(21.4 * 1024), '21.4 KiB');
  t.equal(f.formatBytes(-1), '?');
});

t.test('durations read as a person says them', async (t) => {
  t.equal(f.formatDuration(4.2), '4.2 s');
  t.equal(f.formatDuration(0.04), '0.0 s');
  t.equal(f.formatDuration(42.4), '42 s');
  t.equal(f.formatDuration(8), '8 s');
  t.equal(f.formatDuration(75), '1 min 15 s');
  t.equal(f.formatDuration(3725), '1 h 02 min');
  t.equal(f.formatDuration(3 * 86400 + 3600), '3 d 1 h');
});

t.test('percent never shows an unfinished transfer as done', async (t) => {
  t.equal(f.percent(999, 1000), 99);
  t.equal(f.percent(1000, 1000), 100);
  t.equal(f.percent(5, 0), 0);
});

t.test('time left comes from the rate, and only while work remains', async (t) => {
  t.equal(f.secondsLeft(100, 1100, 10), 100);
  t.equal(f.secondsLeft(1100, 1100, 10), undefined);
  t.equal(f.secondsLeft(100, 1100, 0), undefined);
  const start = '2026-01-01T00:00:00.000Z';
  t.equal(f.rateSince(1000, start, Date.parse(start) + 2000), 500);
  t.equal(f.rateSince(1000, undefined), undefined);
});

t.test('arrival of a tar has no known total', async (t) => {
  t.match(f.arrivalText({ bytesPresent: 2048 }), /^2\.00 KiB received/);
  t.equal(f.arrivalText({ bytesPresent: 512, bytesExpected: 2048 }), '512 B of 2.00 KiB (25%)');
  t.equal(f.arrivalText({ bytesPresent: 512, bytesExpected: 2048 }, 512), '512 B of 2.00 KiB (25%) · 512 B/s · about 3 s left');
});

t.test('arrival speed is measured over a window of samples', async (t) => {
  t.equal(f.windowRate([]), undefined);
  t.equal(
    f.windowRate([
      { at: 0, bytes: 0 },
      { at: 500, bytes: 100 },
    ]),
    undefined,
    'not before a second has passed',
  );
  t.equal(
    f.windowRate([
      { at: 0, bytes: 0 },
      { at: 1000, bytes: 50 },
      { at: 2000, bytes: 400 },
    ]),
    200,
  );
  t.equal(
    f.windowRate([
      { at: 0, bytes: 400 },
      { at: 2000, bytes: 400 },
    ]),
    undefined,
    'a stalled copy has no speed',
  );
});

t.test('verification line: rate and time left while verifying, time taken after', async (t) => {
  const running = f.verificationText({ bytesDone: 1024 ** 3, bytesTotal: 3 * 1024 ** 3, rate: 1024 ** 3 / 4, phase: 'payload' }, 'verifying');
  t.equal(running, '1.00 GiB of 3.00 GiB (33%) · 256 MiB/s · about 8 s left · hashing files');
  t.equal(f.verificationText({ bytesDone: 10, bytesTotal: 10, durationMs: 1500 }, 'installed'), '10 B of 10 B (100%) · took 1.5 s');
  t.match(f.verificationText({ bytesDone: 0, bytesTotal: 0 }, 'queued'), /Waiting/);
  t.match(f.verificationText({ bytesDone: 0, bytesTotal: 0 }, 'arriving'), /fully arrived/);
});

t.test('states: words, tones, which ones can be retried', async (t) => {
  t.equal(f.stateLabel('rolled-back'), 'rolled back');
  t.equal(f.stateTone('installed'), 'good');
  t.equal(f.stateTone('rejected'), 'bad');
  t.equal(f.stateTone('verifying'), 'busy');
  t.equal(f.stateTone('arriving'), 'info');
  t.ok(f.canRetry('rejected'));
  t.ok(f.canRetry('failed'));
  t.notOk(f.canRetry('verifying'));
  t.notOk(f.canRetry('installed'));
  t.ok(f.canRetry('duplicate'), 'a duplicate may be verified again (it installs if the store lost its twin)');
  t.equal(f.stateTone('duplicate'), 'muted', 'a duplicate is never the green of a verified install');
  t.equal(f.stateTone('replaced'), 'muted');
  t.ok(f.needsAttention('rejected') && f.needsAttention('failed'));
  t.notOk(f.needsAttention('duplicate') || f.needsAttention('installed'));
});

t.test("a duplicate's verification line claims no check", async (t) => {
  const line = f.verificationText({ bytesDone: 0, bytesTotal: 0, durationMs: 12 }, 'duplicate');
  t.match(line, /^Payload not read/);
  t.notMatch(line, /took|verified|of 0 B/);
  const text = f.duplicateText(
    { bundleId: 'llama-7', location: '/drop/llama', installedAt: new Date(2026, 0, 2, 9, 5, 7).toISOString() },
    new Date(2026, 0, 2, 18),
  );
  t.equal(
    text,
    "Duplicate of llama-7, installed before from /drop/llama at 09:05:07. Its signatures were checked, but this copy's payload was not read: it is not verified, and nothing of it is used.",
  );
  t.match(f.duplicateText({ bundleId: 'x' }), /^Duplicate of x, installed before\. /);
});

t.test('the summary puts trouble first and leaves empty states out', async (t) => {
  const counts = { installed: 4, ready: 1, rejected: 2, verifying: 1, duplicate: 1, failed: 1, queued: 0 };
  t.same(
    f.summaryParts(counts).map((p) => p.state),
    ['failed', 'rejected', 'duplicate', 'verifying', 'installed', 'ready'],
  );
  t.same(f.summaryParts({ rejected: 2 }), [{ state: 'rejected', count: 2, tone: 'bad' }]);
  t.equal(f.summaryText(counts), '1 failed · 2 rejected · 1 duplicate · 1 verifying · 4 installed · 1 ready');
  t.equal(f.summaryText({}), 'No bundles yet');
  t.equal(f.summaryText({ someday: 1 }), '1 someday', 'a state this page does not know yet is still counted');
});

t.test('an installed bundle its model no longer serves is replaced', async (t) => {
  const models: Model[] = [{ name: 'm', current: { bundleId: 'm-2', sequence: 2, manifestDigest: 'b' }, kept: [{ manifestDigest: 'a' }] }];
  const rec = { state: 'installed', name: 'm', manifestDigest: 'a' };
  t.same(f.replacement(rec, models), { bundleId: 'm-2', sequence: 2, kept: true });
  t.equal(
    f.replacementText({ bundleId: 'm-2', sequence: 2, kept: true }),
    'Replaced: sequence 2 (m-2) is current now; this one is kept for rollback.',
  );
  t.same(f.replacement({ ...rec, manifestDigest: 'z' }, models), { bundleId: 'm-2', sequence: 2, kept: false }, 'evicted from the store');
  t.match(f.replacementText({ bundleId: 'm-2', sequence: 2, kept: false }), /no longer in the store/);
  t.equal(f.replacement({ ...rec, manifestDigest: 'b' }, models), undefined, 'the current one');
  t.equal(f.replacement({ ...rec, state: 'ready', manifestDigest: 'b' }, models), undefined);
  t.equal(f.replacement({ ...rec, state: 'duplicate' }, models), undefined, 'only what was installed can be replaced');
  t.equal(f.replacement(rec, []), undefined, 'no models known: nothing said');
});

t.test('times: today the time alone, yesterday so named, older ones with a year-month-day date', async (t) => {
  const now = new Date(2026, 2, 15, 12, 0, 0);
  t.equal(f.formatTime(new Date(2026, 2, 15, 9, 5, 7).toISOString(), now), '09:05:07');
  t.equal(f.formatTime(new Date(2026, 2, 14, 23, 59, 1).toISOString(), now), 'yesterday 23:59:01');
  t.equal(f.formatTime(new Date(2026, 2, 13, 8, 0, 0).toISOString(), now), '2026-03-13 08:00:00');
  t.equal(f.formatTime(new Date(2025, 11, 31, 8, 0, 0).toISOString(), new Date(2026, 0, 1, 0, 30)), 'yesterday 08:00:00', 'across a year');
  t.equal(f.formatTime(new Date(2025, 11, 30, 8, 0, 0).toISOString(), new Date(2026, 0, 1, 0, 30)), '2025-12-30 08:00:00');
  t.equal(f.formatTime('not a time'), 'not a time');
  const rec = { state: 'rejected', detectedAt: new Date(2026, 2, 10, 7).toISOString(), updatedAt: new Date(2026, 2, 10, 7, 1).toISOString() };
  t.equal(f.cardTime(rec, now), 'rejected 2026-03-10 07:01:00', 'a finished card: its outcome and when');
  t.equal(f.cardTime({ ...rec, state: 'verifying' }, now), 'detected 2026-03-10 07:00:00', 'one in progress: when it was seen');
});

t.test('names and signers', async (t) => {
  t.equal(f.baseName('/srv/drop/model-7.airlock.tar'), 'model-7.airlock.tar');
  t.equal(f.baseName('/srv/drop/bundle/'), 'bundle');
  t.equal(
    f.signerLine({ principals: ['alice@example.org'], fingerprint: 'SHA256:abc', status: 'trusted' }),
    'alice@example.org — SHA256:abc (trusted)',
  );
  t.equal(f.signerLine({ principals: [], status: 'untrusted' }), 'unknown key — no fingerprint (untrusted)');
});

t.test('while a folder bundle arrives, verified bytes are shown apart from arrived ones', async (t) => {
  const arriving = { bytesDone: 0, bytesTotal: 0 };
  t.equal(f.verificationText(arriving, 'arriving'), 'Starts once the bundle has fully arrived', 'a tar: nothing before it has arrived');
  t.equal(
    f.verificationText(arriving, 'arriving', 0, { bytesPresent: 1024, bytesExpected: 4096, bytesVerified: 0, staging: 'waiting' }),
    'Waiting for trusted signatures: no file is read before they hold',
  );
  t.equal(
    f.verificationText(arriving, 'arriving', 0, { bytesPresent: 3072, bytesExpected: 4096, bytesVerified: 2048, staging: 'staging' }),
    '2.00 KiB of 4.00 KiB verified as it arrives (50%)',
  );
  t.equal(
    f.arrivingVerificationText({ bytesPresent: 4096, bytesExpected: 4096, bytesVerified: 1024, staging: 'off' }),
    '1.00 KiB verified; the rest once the bundle has fully arrived',
  );
  t.match(
    f.arrivalText({ bytesPresent: 3072, bytesExpected: 4096, bytesVerified: 2048 }),
    /^3\.00 KiB of 4\.00 KiB/,
    'arrival still counts bytes on disk',
  );
});

t.test('parts on several sticks: the sentence first, then each stick and each refused copy', async (t) => {
  t.equal(f.partsView(undefined), undefined);
  const parts: PartsArrival = {
    received: 4,
    total: 9,
    bytesReceived: 4096,
    bytesTotal: 9216,
    unpackedParts: 3,
    sticks: [
      { label: 'STICK-A', path: '/media/u/STICK-A', media: true, present: true, partsReceived: 4, removable: true },
      { label: 'STICK-B', path: '/media/u/STICK-B', media: true, present: true, partsReceived: 0, removable: false },
      { label: 'in', path: '/srv/drop/in', media: false, present: false, partsReceived: 1, removable: true },
    ],
    rejected: [
      {
        part: 'x.003',
        stick: 'stick STICK-A',
        path: '/media/u/STICK-A/x.003',
        code: 'PART_CORRUPT',
        message: 'part x.003 on stick STICK-A does not match',
        at: '2026-01-01T00:00:00Z',
      },
    ],
    duplicates: 2,
    reading: { part: 'x.005', stick: 'stick STICK-B', bytesDone: 512, bytes: 1024 },
    message: 'parts 4 of 9 received; reading x.005 from stick STICK-B',
  };
  const v = f.partsView(parts)!;
  t.equal(v.message, 'parts 4 of 9 received; reading x.005 from stick STICK-B');
  t.same(v.sticks, [
    { text: 'stick STICK-A: 4 parts received · may be removed', removable: true },
    { text: 'stick STICK-B: 0 parts received · still needed', removable: false },
    { text: 'folder /srv/drop/in: 1 part received · removed', removable: false },
  ]);
  t.same(v.rejected, [{ code: 'PART_CORRUPT', text: 'part x.003 on stick STICK-A does not match' }]);
  t.equal(v.reading, 'Reading x.005 from stick STICK-B: 512 B of 1.00 KiB');
  t.equal(v.duplicates, '2 second copies of spooled parts matched and ignored');
  t.equal(f.partsVerificationText(parts), '3 of 9 parts unpacked and verified as they arrived');
  t.equal(
    f.partsVerificationText(parts, { bytesPresent: 4608, bytesExpected: 9216, bytesVerified: 4096, staging: 'staging' }),
    '4.00 KiB of 9.00 KiB verified against the signed index · 3 of 9 parts unpacked and verified as they arrived',
    'the same arrived/verified model as a folder bundle',
  );
});
