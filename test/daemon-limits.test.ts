// Bounds on what one drop can make the daemon keep (issue 11 §2, §4): failures capped at the root, records of
// junk pruned, digests pruned, pages of bundles; with a real state file and the test Installer.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { AuditInput } from '../src/pipeline/audit-events.js';
import { AirlockError, capText, MAX_FAILURE_TEXT, MAX_REPORTED_FAILURES, type Failure } from '../src/errors.js';
import { BUNDLE_PAGE, pageOfRecords, pruneProcessed, pruneRecords, recordIdFor } from '../src/pipeline/decisions.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { BundleRecord, ProcessedEntry } from '../src/pipeline/types.js';
import { schemaProblems } from '../src/util/schemas.js';
import type { ArrivalEvent } from '../src/watcher/arrival-tracker.js';
import { FakeInstaller, eventually } from './helpers/daemon.js';

const quietLog = { info() {}, warn() {}, error() {} };

function setup(dir: string, extra: Partial<ConstructorParameters<typeof Pipeline>[0]> = {}) {
  const installer = new FakeInstaller();
  const audits: AuditInput[] = [];
  const pipeline = new Pipeline({
    stateFile: path.join(dir, 'bundles.json'),
    installer,
    hooks: { audit: (e) => audits.push(e), changed: () => {} },
    log: quietLog,
    dropFolders: [],
    removeAfterInstall: false,
    retention: 100,
    ...extra,
  });
  return { pipeline, installer, audits };
}

const complete = (location: string, fingerprint = 'f1'): ArrivalEvent => ({
  type: 'complete',
  candidate: { form: 'dir', location, root: path.dirname(location), media: false },
  progress: { bytesPresent: 10, bytesExpected: 10 },
  fingerprint,
});

function manyFailures(n: number, messageChars = 40): Failure[] {
  const out: Failure[] = [];
  for (let i = 0; i < n; i++) out.push({ code: 'MANIFEST_INVALID', path: `files/${i}/path`, message: `files/${i}/path ${'x'.repeat(messageChars)}` });
  return out;
}

t.test('an unsigned manifest yielding 1.46 million failures is kept as the first 100 and the total', async (t) => {
  const one: Failure = { code: 'MANIFEST_INVALID', path: 'files/0/path', message: 'files/0/path must match pattern' };
  const err = AirlockError.fromFailures(new Array<Failure>(1_460_000).fill(one));
  t.equal(err.failures.length, MAX_REPORTED_FAILURES);
  t.equal(err.failureCount, 1_460_000);
  t.match(err.message, /\(and 1459999 more\)$/);
  t.equal(err.toJSON().failureCount, 1_460_000);
  t.ok(JSON.stringify(err.toJSON()).length < 20_000, 'what is stored or served is small');
  // The prefix a collector already capped keeps its true total.
  const capped = AirlockError.fromFailures(manyFailures(100), undefined, 5_000_000);
  t.same([capped.failures.length, capped.failureCount], [100, 5_000_000]);
  const single = new AirlockError('HASH_MISMATCH', 'one');
  t.same([single.failures.length, single.failureCount], [1, 1]);
});

t.test('a 1 MB path in a failure is not stored whole', async (t) => {
  const huge = 'a/'.repeat(512 * 1024);
  const err = AirlockError.fromFailures([{ code: 'BAD_PATH', path: huge, message: `manifest path ${JSON.stringify(huge)} is bad` }]);
  t.ok(err.failures[0]!.path!.length <= MAX_FAILURE_TEXT);
  t.ok(err.failures[0]!.message.length <= MAX_FAILURE_TEXT);
  t.ok(err.path!.length <= MAX_FAILURE_TEXT);
  t.ok(err.message.length <= MAX_FAILURE_TEXT + 40);
  t.match(err.failures[0]!.path, /more characters\)$/, 'the cut is marked');
  t.equal(capText('short', 10), 'short');
  t.equal(capText('x'.repeat(100), 40).length, 40);
});

t.test('a rejected record, its audit event and bundles.json carry the first 100 failures and failureCount', async (t) => {
  const dir = t.testdir();
  const { pipeline, installer, audits } = setup(dir);
  installer.outcomeFor = () => AirlockError.fromFailures(manyFailures(20_000, 2000));
  pipeline.handle(complete('/drop/junk'));
  await eventually(() => pipeline.get(recordIdFor('/drop/junk'))?.state === 'rejected', 'rejected');
  await pipeline.stop();
  const rec = pipeline.get(recordIdFor('/drop/junk'))!;
  t.equal(rec.error?.failures.length, 100);
  t.equal(rec.error?.failureCount, 20_000);
  t.ok(rec.error!.failures.every((f) => f.message.length <= MAX_FAILURE_TEXT));
  t.match(
    audits.find((e) => e.event === 'rejected'),
    { code: 'MANIFEST_INVALID', failureCount: 20_000 },
  );
  t.equal(audits.find((e) => e.event === 'rejected')!.failures!.length, 100);
  const file = path.join(dir, 'bundles.json');
  t.ok(statSync(file).size < 200_000, `bundles.json is ${statSync(file).size} bytes`);
  t.same(schemaProblems('daemon-state', JSON.parse(readFileSync(file, 'utf8'))), []);
});

const rec = (id: string, state: BundleRecord['state'], updatedAt: string) => ({ id, state, updatedAt, detectedAt: updatedAt }) as BundleRecord;

t.test('retention: junk drops cannot push out installed history; rejected and failed are capped on their own', async (t) => {
  const records = [
    rec('i1', 'installed', '01'),
    rec('i2', 'ready', '02'),
    ...Array.from({ length: 20 }, (_, i) => rec(`j${i}`, i % 2 ? 'rejected' : 'failed', String(10 + i))),
    rec('a1', 'arriving', '00'),
  ];
  const kept = pruneRecords(records, 10, 3).map((r) => r.id);
  t.same(kept.sort(), ['a1', 'i1', 'i2', 'j17', 'j18', 'j19'].sort(), 'unfinished kept, the 3 newest junk records, the installed ones');
  t.same(
    pruneRecords(records, 3, 3)
      .map((r) => r.id)
      .sort(),
    ['a1', 'j17', 'j18', 'j19'],
    'the overall cap still holds',
  );
});

t.test('the processed digests are pruned too: referenced ones kept, then the newest', async (t) => {
  const entry = (recordId: string, at: string): ProcessedEntry => ({
    outcome: 'rejected',
    recordId,
    location: `/d/${recordId}`,
    fingerprint: 'f',
    at,
  });
  const processed: Record<string, ProcessedEntry> = {};
  for (let i = 0; i < 50; i++) processed[i.toString(16).padStart(64, '0')] = entry(`r${i}`, String(1000 + i));
  const pruned = pruneProcessed(processed, new Set(['r0', 'r1']), 5);
  t.equal(Object.keys(pruned).length, 5);
  t.same(
    Object.values(pruned)
      .map((e) => e.recordId)
      .sort(),
    ['r0', 'r1', 'r47', 'r48', 'r49'],
  );
  t.equal(pruneProcessed(processed, new Set(), 100), processed, 'under the cap: unchanged');
});

t.test('after 40 junk drops the state holds at most retention.rejected of them and a bounded digest map', async (t) => {
  const dir = t.testdir();
  const { pipeline, installer } = setup(dir, { retention: 10, retainRejected: 4 });
  installer.outcomeFor = (l) => (l.includes('junk') ? new AirlockError('HASH_MISMATCH', 'tampered') : 'install');
  for (let i = 0; i < 3; i++) pipeline.handle(complete(`/drop/good-${i}`));
  for (let i = 0; i < 40; i++) pipeline.handle(complete(`/drop/junk-${i}`));
  await eventually(
    () => pipeline.queued().length === 0 && pipeline.verifying() === undefined && pipeline.records().every((r) => r.state !== 'queued'),
    'all done',
  );
  await pipeline.stop();
  const doc = JSON.parse(readFileSync(path.join(dir, 'bundles.json'), 'utf8')) as {
    records: BundleRecord[];
    processed: Record<string, ProcessedEntry>;
  };
  t.equal(doc.records.filter((r) => r.state === 'installed').length, 3, 'every installed record kept');
  t.equal(doc.records.filter((r) => r.state === 'rejected').length, 4);
  t.ok(
    doc.records.some((r) => r.location === '/drop/junk-39'),
    'the newest junk is the one kept',
  );
  t.ok(Object.keys(doc.processed).length <= 10, `${Object.keys(doc.processed).length} digests remembered`);
  t.ok(
    Object.values(doc.processed).some((e) => e.location === '/drop/good-0'),
    'installed digests referenced by kept records stay',
  );
});

t.test('pages of bundles: newest first, a cursor that survives pruning, a default size', async (t) => {
  const records = Array.from({ length: 250 }, (_, i) =>
    rec(`b${String(i).padStart(3, '0')}`, 'installed', `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}Z`),
  );
  const first = pageOfRecords(records);
  t.equal(first.bundles.length, BUNDLE_PAGE.default);
  t.equal(first.total, 250);
  t.ok(first.next);
  const all: string[] = [];
  for (let page = pageOfRecords(records, 70); ; page = pageOfRecords(records, 70, page.next)) {
    all.push(...page.bundles.map((b) => b.id));
    if (!page.next) break;
  }
  const expected = [...records].sort((a, b) => b.detectedAt.localeCompare(a.detectedAt)).map((r) => r.id);
  t.same(all, expected, 'every record exactly once, newest first');
  const cursor = pageOfRecords(records, 10).next!;
  const without = records.filter((r) => !cursor.endsWith(`~${r.id}`));
  t.same(pageOfRecords(without, 5, cursor).bundles, pageOfRecords(records, 5, cursor).bundles, 'the cursor record itself may be gone');
  t.same(pageOfRecords([], 10), { bundles: [], total: 0 });
});
