// The pipeline's decisions with a real state file and a test Installer: order, one at a time, idempotence,
// restarts, rejected vs failed, retry, and removal after install (drop folders only).
import type { DeployResult } from '../src/pipeline/ports.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { AuditInput } from '../src/pipeline/audit-events.js';
import { AirlockError } from '../src/errors.js';
import { duplicateNote, outcomeForError, processingDecision, pruneRecords, recordIdFor, truthfulRecord } from '../src/pipeline/decisions.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { schemaProblems } from '../src/util/schemas.js';
import type { ArrivalEvent } from '../src/watcher/arrival-tracker.js';
import type { Candidate } from '../src/watcher/candidates.js';
import { FakeInstaller, eventually } from './helpers/daemon.js';

const quietLog = { info() {}, warn() {}, error() {} };

function setup(dir: string, extra: Partial<ConstructorParameters<typeof Pipeline>[0]> = {}) {
  const installer = (extra.installer as FakeInstaller | undefined) ?? new FakeInstaller();
  const audits: AuditInput[] = [];
  const changes: BundleRecord[] = [];
  const pipeline = new Pipeline({
    stateFile: path.join(dir, 'bundles.json'),
    installer,
    hooks: { audit: (e) => audits.push(e), changed: (r) => changes.push({ ...r }) },
    log: quietLog,
    dropFolders: [path.join(dir, 'drop')],
    removeAfterInstall: false,
    retention: 100,
    ...extra,
  });
  return { pipeline, installer, audits, changes };
}

const cand = (location: string, media = false): Candidate => ({ form: 'dir', location, root: path.dirname(location), media });
const complete = (location: string, fingerprint = 'f1', media = false): ArrivalEvent => ({
  type: 'complete',
  candidate: cand(location, media),
  progress: { bytesPresent: 10, bytesExpected: 10 },
  fingerprint,
});
const stateOf = (p: Pipeline, location: string) => p.get(recordIdFor(location))?.state;

t.test('record ids are stable, readable and location-specific', async (t) => {
  t.match(recordIdFor('/srv/drop/llama-3.1.airlock.tar'), /^llama-3\.1-[0-9a-f]{16}$/);
  t.equal(recordIdFor('/a/b'), recordIdFor('/a/b'));
  t.not(recordIdFor('/a/b'), recordIdFor('/c/b'));
  t.match(recordIdFor('/drop/.../ü'), /^bundle-[0-9a-f]{16}$|^[A-Za-z0-9][A-Za-z0-9._-]*$/);
});

/** Two locations `${prefix}N/llama` (one name, so one slug) whose sha256 agree in the first `hex` digits: a birthday search. */
function colliding(prefix: string, hex: number): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const loc = `${prefix}${i}/llama`;
    const key = createHash('sha256').update(loc).digest('hex').slice(0, hex);
    const other = seen.get(key);
    if (other !== undefined) return [other, loc];
    seen.set(key, loc);
  }
}

t.test('two drop locations whose 8-hex ids collided get distinct records', async (t) => {
  // The old ids were `<name>-<8 hex>`: a drop named to match another's could take over its record.
  const [a, b] = colliding('/srv/airlock/drop/x', 8);
  const { pipeline, installer } = setup(t.testdir());
  installer.digestFor = (l) => createHash('sha256').update(`m:${l}`).digest('hex');
  pipeline.handle(complete(a));
  pipeline.handle(complete(b));
  await eventually(() => pipeline.records().filter((r) => r.state === 'installed').length === 2, 'both installed');
  t.equal(recordIdFor(a).slice(0, -8), recordIdFor(b).slice(0, -8), 'the same name and the first 8 hex digits');
  t.same(
    pipeline
      .records()
      .map((r) => r.location)
      .sort(),
    [a, b].sort(),
  );
  t.equal(new Set(pipeline.records().map((r) => r.id)).size, 2);
  await pipeline.stop();
});

t.test('an id already held by another location falls back to the whole digest', async (t) => {
  const [a, b] = colliding('/drop/y', 3);
  const short = (l: string) => recordIdFor(l, undefined, 3);
  t.equal(short(a), short(b), 'the short ids collide');
  const holder = (id: string) => (id === short(a) ? a : undefined);
  const idB = recordIdFor(b, holder, 3);
  t.not(idB, short(a));
  t.equal(idB, `llama-${createHash('sha256').update(b).digest('hex')}`);
  t.equal(recordIdFor(a, holder, 3), short(a), 'the holder keeps its id');
});

t.test('rejected vs failed: the bundle is to blame, or the host is', async (t) => {
  for (const c of ['HASH_MISMATCH', 'UNTRUSTED_SIGNER', 'ROLLBACK', 'MANIFEST_INVALID', 'EXPIRED'] as const)
    t.equal(outcomeForError(c), 'rejected', c);
  for (const c of ['IO_ERROR', 'INSUFFICIENT_SPACE', 'STORE_BUSY', 'INTERNAL'] as const) t.equal(outcomeForError(c), 'failed', c);
});

t.test('idempotence decisions by manifest digest', async (t) => {
  const installed = { outcome: 'installed' as const, recordId: 'a', location: '/d/a', fingerprint: 'f', at: '2026-01-01T00:00:00.000Z' };
  const rejected = { outcome: 'rejected' as const, code: 'HASH_MISMATCH' as const, recordId: 'a', location: '/d/a', fingerprint: 'f', at: '' };
  t.same(processingDecision(undefined, '/d/a', 'f'), { kind: 'process' });
  t.same(
    processingDecision(installed, '/d/b', 'g'),
    { kind: 'duplicate', of: { recordId: 'a', location: '/d/a', installedAt: '2026-01-01T00:00:00.000Z' } },
    'installed elsewhere: a duplicate naming the install, not installed again',
  );
  t.match(processingDecision(installed, '/d/a', 'g'), { kind: 'duplicate' }, 'the installed drop itself, changed: a duplicate too');
  t.match(processingDecision(rejected, '/d/a', 'f'), { kind: 'rejected-before', code: 'HASH_MISMATCH' }, 'same rejected drop, unchanged');
  t.same(processingDecision(rejected, '/d/a', 'g'), { kind: 'process' }, 'the rejected drop changed: again');
  t.same(processingDecision(rejected, '/d/b', 'f'), { kind: 'process' }, 'another copy of a rejected digest: again');
});

t.test('a duplicate note says which bundle, and never that the copy was verified', async (t) => {
  const note = duplicateNote({ bundleId: 'llama-7', location: '/drop/one', installedAt: '2026-01-01T00:00:00.000Z' }, '/drop/two');
  t.match(note, /duplicate of llama-7, installed before from \/drop\/one at 2026-01-01T00:00:00\.000Z/);
  t.match(note, /payload was not read/);
  t.notMatch(note, /verified/);
  t.match(duplicateNote({ bundleId: 'x', location: '/drop/one' }, '/drop/one'), /from this location/);
  t.match(duplicateNote({ bundleId: 'x', path: '/store/deployments/x' }), /in the store at \/store\/deployments\/x/);
});

t.test('records from before the duplicate state are shown as what they were', async (t) => {
  const base = {
    id: 'r',
    location: '/drop/r',
    form: 'dir',
    media: false,
    bundleId: 'b-1',
    arrival: { bytesPresent: 1 },
    detectedAt: '',
    updatedAt: '',
  };
  const verification = { bytesDone: 0, bytesTotal: 0 };
  const fromStore = {
    ...base,
    state: 'installed',
    verification,
    install: { status: 'already-installed', path: '/s/d/b-1', bytesVerified: 0, durationMs: 1 },
  };
  const fromMemory = { ...base, state: 'installed', verification, note: 'already installed from /drop/q (same manifest digest)' };
  const real = { ...base, state: 'installed', verification, install: { status: 'installed', path: '/s/d/b-1', bytesVerified: 9, durationMs: 1 } };
  t.match(truthfulRecord(fromStore as BundleRecord), { state: 'duplicate', duplicateOf: { bundleId: 'b-1', path: '/s/d/b-1' }, install: undefined });
  t.match(truthfulRecord(fromMemory as BundleRecord), { state: 'duplicate', duplicateOf: { bundleId: 'b-1' } });
  t.equal(truthfulRecord(real as BundleRecord).state, 'installed', 'a verified install stays installed');
});

t.test('retention keeps every unfinished record and the newest finished ones', async (t) => {
  const rec = (id: string, state: BundleRecord['state'], updatedAt: string) => ({ id, state, updatedAt }) as BundleRecord;
  const kept = pruneRecords([rec('a', 'installed', '1'), rec('b', 'arriving', '0'), rec('c', 'rejected', '3'), rec('d', 'failed', '2')], 2);
  t.same(kept.map((r) => r.id).sort(), ['b', 'c', 'd']);
});

t.test('complete bundles queue in arrival order and install one at a time', async (t) => {
  const dir = t.testdir();
  const { pipeline, installer, audits } = setup(dir);
  installer.hold = true;
  const [a, b, c] = ['/drop/a', '/drop/b', '/drop/c'];
  pipeline.handle({ type: 'arriving', candidate: cand(a!), progress: { bytesPresent: 1, bytesExpected: 10 } });
  t.equal(stateOf(pipeline, a!), 'arriving');
  t.match(pipeline.get(recordIdFor(a!)), { arrival: { bytesPresent: 1, bytesExpected: 10 } });
  pipeline.handle(complete(a!));
  pipeline.handle(complete(b!));
  pipeline.handle(complete(c!));
  await eventually(() => installer.waiting().length === 1, 'first install held');
  t.same(installer.waiting(), [a]);
  t.equal(stateOf(pipeline, a!), 'verifying');
  t.same(pipeline.queued(), [recordIdFor(b!), recordIdFor(c!)]);
  t.equal(pipeline.verifying(), recordIdFor(a!));
  t.match(pipeline.get(recordIdFor(a!))!.verification, { phase: 'payload', bytesDone: 400, bytesTotal: 1000 });
  installer.release();
  await eventually(() => installer.waiting().length === 1 && installer.waiting()[0] === b, 'second install held');
  t.equal(stateOf(pipeline, a!), 'installed');
  installer.release();
  await eventually(() => installer.waiting()[0] === c, 'third');
  installer.release();
  await eventually(() => stateOf(pipeline, c!) === 'installed', 'all installed');
  t.same(installer.installs, [a, b, c], 'never concurrently, in arrival order');
  const accepted = audits.filter((e) => e.event === 'accepted');
  t.equal(accepted.length, 3);
  t.match(accepted[0], {
    signers: [{ principals: ['demo@airlock.invalid'], fingerprint: 'SHA256:fake' }],
    manifestDigest: /^[0-9a-f]{64}$/,
    name: 'test/a',
    sequence: 1,
  });
  await pipeline.stop();
});

t.test('a rejected bundle carries its code and failures; a host failure is `failed`', async (t) => {
  const { pipeline, installer, audits } = setup(t.testdir());
  installer.outcomeFor = (loc) =>
    loc.endsWith('bad')
      ? AirlockError.fromFailures([
          { code: 'HASH_MISMATCH', path: 'payload/w.bin', message: 'w.bin differs' },
          { code: 'SIZE_MISMATCH', path: 'payload/x.bin', message: 'x.bin size' },
        ])
      : new AirlockError('INSUFFICIENT_SPACE', 'disk full');
  pipeline.handle(complete('/drop/bad'));
  pipeline.handle(complete('/drop/full'));
  await eventually(() => stateOf(pipeline, '/drop/full') === 'failed', 'failed');
  t.match(pipeline.get(recordIdFor('/drop/bad')), {
    state: 'rejected',
    error: { code: 'HASH_MISMATCH', failures: [{ code: 'HASH_MISMATCH' }, { code: 'SIZE_MISMATCH' }] },
  });
  t.match(pipeline.get(recordIdFor('/drop/full')), { state: 'failed', error: { code: 'INSUFFICIENT_SPACE' } });
  t.match(
    audits.find((e) => e.event === 'rejected'),
    { code: 'HASH_MISMATCH', name: 'test/bad', manifestDigest: /^[0-9a-f]{64}$/ },
  );
  pipeline.handle(complete('/drop/unreadable'));
  await eventually(() => stateOf(pipeline, '/drop/unreadable') === 'rejected', 'identify failure rejects');
  t.match(pipeline.get(recordIdFor('/drop/unreadable'))!.error, { code: 'MANIFEST_INVALID' });
  await pipeline.stop();
});

t.test('the same digest is installed once; a changed rejected drop is verified again', async (t) => {
  const { pipeline, installer, audits } = setup(t.testdir());
  installer.digestFor = () => 'd'.repeat(64);
  pipeline.handle(complete('/drop/one'));
  await eventually(() => stateOf(pipeline, '/drop/one') === 'installed', 'installed');
  pipeline.handle(complete('/drop/copy-of-one'));
  await eventually(() => stateOf(pipeline, '/drop/copy-of-one') === 'duplicate', 'copy settled');
  t.same(installer.installs, ['/drop/one'], 'the copy was not installed again');
  const copy = pipeline.get(recordIdFor('/drop/copy-of-one'))!;
  t.match(copy, { duplicateOf: { recordId: recordIdFor('/drop/one'), location: '/drop/one' }, install: undefined });
  t.match(copy.note, /^duplicate of \S+, installed before from \/drop\/one at /);
  t.match(
    audits.find((e) => e.event === 'duplicate'),
    { recordId: copy.id, signers: [{ status: 'trusted' }] },
  );
  t.notOk(
    audits.some((e) => e.recordId === copy.id && (e.event === 'installed' || e.event === 'accepted')),
    'the copy is never reported installed',
  );
  t.throws(() => pipeline.retry(recordIdFor('/drop/one')), { code: 'CONFLICT' }, 'an installed bundle is not retried');

  installer.digestFor = () => 'e'.repeat(64);
  installer.outcomeFor = () => new AirlockError('HASH_MISMATCH', 'tampered');
  pipeline.handle(complete('/drop/two', 'f1'));
  await eventually(() => stateOf(pipeline, '/drop/two') === 'rejected', 'rejected');
  pipeline.handle(complete('/drop/two', 'f1'));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(installer.installs.length, 2, 'unchanged rejected drop is not verified again');
  installer.outcomeFor = () => 'install';
  pipeline.handle({ type: 'arriving', candidate: cand('/drop/two'), progress: { bytesPresent: 10 } });
  pipeline.handle(complete('/drop/two', 'f2'));
  await eventually(() => stateOf(pipeline, '/drop/two') === 'installed', 'repaired drop installed');
  await pipeline.stop();
});

t.test('state survives a restart: finished records and idempotence are kept, unfinished ones start over', async (t) => {
  const dir = t.testdir();
  const first = setup(dir);
  first.installer.hold = true;
  first.pipeline.handle(complete('/drop/done'));
  await eventually(() => first.installer.waiting().length === 1, 'held');
  first.installer.release();
  first.pipeline.handle(complete('/drop/mid'));
  await eventually(() => first.installer.waiting()[0] === '/drop/mid', 'second held');
  await first.pipeline.stop(); // the daemon dies mid-verification
  t.same(first.installer.aborted, ['/drop/mid'], 'the running install was aborted');
  const doc = JSON.parse(readFileSync(path.join(dir, 'bundles.json'), 'utf8')) as unknown;
  t.same(schemaProblems('daemon-state', doc), [], 'state file matches its schema');

  const second = setup(dir);
  await second.pipeline.load();
  t.equal(stateOf(second.pipeline, '/drop/done'), 'installed');
  t.equal(stateOf(second.pipeline, '/drop/mid'), undefined, 'unfinished record forgotten until the watcher finds it again');
  t.same(second.pipeline.finishedFingerprints(), [{ location: '/drop/done', fingerprint: 'f1' }]);
  second.pipeline.handle(complete('/drop/done'));
  second.pipeline.handle(complete('/drop/mid'));
  await eventually(() => stateOf(second.pipeline, '/drop/mid') === 'installed', 'mid installed after restart');
  t.same(second.installer.installs, ['/drop/mid'], 'verified again from the start; the finished one untouched');
  await second.pipeline.stop();
});

t.test('new bytes under a bundle being verified abort it; it is verified again once complete', async (t) => {
  const { pipeline, installer } = setup(t.testdir());
  installer.hold = true;
  pipeline.handle(complete('/drop/x', 'f1'));
  await eventually(() => installer.waiting().length === 1, 'held');
  pipeline.handle({ type: 'arriving', candidate: cand('/drop/x'), progress: { bytesPresent: 5 } });
  await eventually(() => installer.aborted.length === 1, 'aborted');
  t.equal(stateOf(pipeline, '/drop/x'), 'arriving');
  installer.hold = false;
  pipeline.handle(complete('/drop/x', 'f2'));
  await eventually(() => stateOf(pipeline, '/drop/x') === 'installed', 'installed');
  await pipeline.stop();
});

t.test('retry runs a finished bundle again; unknown or unfinished ones are refused', async (t) => {
  const { pipeline, installer, audits } = setup(t.testdir());
  installer.outcomeFor = () => new AirlockError('UNTRUSTED_SIGNER', 'nobody we know');
  pipeline.handle(complete('/drop/r'));
  await eventually(() => stateOf(pipeline, '/drop/r') === 'rejected', 'rejected');
  t.throws(() => pipeline.retry('nope-00000000'), { code: 'NOT_FOUND' });
  installer.outcomeFor = () => 'install';
  pipeline.retry(recordIdFor('/drop/r'));
  await eventually(() => stateOf(pipeline, '/drop/r') === 'installed', 'installed on retry');
  t.ok(audits.some((e) => e.event === 'retry' && e.actor === 'api'));
  installer.hold = true;
  pipeline.handle(complete('/drop/busy'));
  await eventually(() => installer.waiting().length === 1, 'held');
  t.throws(() => pipeline.retry(recordIdFor('/drop/busy')), { code: 'CONFLICT' });
  installer.release();
  await pipeline.stop();
});

t.test('a drop the store already holds is a duplicate, not installed: payload unread, drop kept, retry allowed', async (t) => {
  const dir = t.testdir({ drop: { again: { 'airlock.json': '{}' } } });
  const finished: unknown[] = [];
  const { pipeline, installer, audits } = setup(dir, {
    removeAfterInstall: true,
    hooks: { audit: (e) => audits.push(e), changed: () => undefined, finished: (f) => finished.push(f) },
  });
  const again = path.join(dir, 'drop', 'again');
  installer.outcomeFor = () => 'already-installed';
  pipeline.handle(complete(again));
  await eventually(() => stateOf(pipeline, again) === 'duplicate', 'duplicate');
  const rec = pipeline.get(recordIdFor(again))!;
  t.match(rec, { duplicateOf: { bundleId: 'again', path: '/store/deployments/again' }, install: undefined, verification: { bytesDone: 0 } });
  t.match(rec.note, /in the store at \/store\/deployments\/again.*payload was not read/);
  t.ok(existsSync(again), 'a duplicate drop is never removed: it was not the bytes installed');
  t.same(
    audits.filter((e) => e.recordId === rec.id).map((e) => e.event),
    ['detected', 'duplicate'],
    'neither accepted nor installed',
  );
  t.match(finished, [{ outcome: 'duplicate', name: 'test/again' }]);
  t.same(schemaProblems('daemon-state', { schema: 'airlock.daemon-state/v1', records: [rec], processed: {} }), [], 'the record matches its schema');
  installer.outcomeFor = () => 'install';
  pipeline.retry(rec.id);
  await eventually(() => stateOf(pipeline, again) === 'installed', 'installed on retry, once the store lacks it');
  t.equal(pipeline.get(rec.id)!.duplicateOf, undefined, 'no longer a duplicate');
  await pipeline.stop();
});

t.test('a bundle that disappears while arriving is forgotten', async (t) => {
  const { pipeline, audits } = setup(t.testdir());
  pipeline.handle({ type: 'arriving', candidate: cand('/drop/g'), progress: { bytesPresent: 1 } });
  pipeline.handle({ type: 'gone', candidate: cand('/drop/g') });
  t.equal(stateOf(pipeline, '/drop/g'), undefined);
  t.ok(audits.some((e) => e.event === 'gone'));
  await pipeline.stop();
});

t.test('removeAfterInstall deletes installed drops in drop folders only, never on media or after rejection', async (t) => {
  const dir = t.testdir();
  const drop = path.join(dir, 'drop');
  const media = path.join(dir, 'media');
  for (const b of [path.join(drop, 'ok'), path.join(drop, 'bad'), path.join(media, 'stick', 'ok2')]) {
    mkdirSync(b, { recursive: true });
    writeFileSync(path.join(b, 'airlock.json'), '{}');
  }
  const { pipeline, installer, audits } = setup(dir, { removeAfterInstall: true });
  installer.outcomeFor = (l) => (l.endsWith('bad') ? new AirlockError('HASH_MISMATCH', 'x') : 'install');
  pipeline.handle(complete(path.join(drop, 'ok')));
  pipeline.handle(complete(path.join(drop, 'bad')));
  pipeline.handle(complete(path.join(media, 'stick', 'ok2'), 'f1', true));
  await eventually(() => stateOf(pipeline, path.join(media, 'stick', 'ok2')) === 'installed', 'all done');
  await eventually(() => pipeline.get(recordIdFor(path.join(drop, 'ok')))?.removed === true, 'removed flag');
  t.notOk(existsSync(path.join(drop, 'ok')), 'installed drop removed');
  t.ok(existsSync(path.join(drop, 'bad')), 'rejected drop kept as evidence');
  t.ok(existsSync(path.join(media, 'stick', 'ok2')), 'media never modified');
  t.equal(audits.filter((e) => e.event === 'removed').length, 1);
  await pipeline.stop();
});

t.test('without removeAfterInstall the drop is left untouched', async (t) => {
  const dir = t.testdir({ drop: { keep: { 'airlock.json': '{}' } } });
  const { pipeline } = setup(dir);
  pipeline.handle(complete(path.join(dir, 'drop', 'keep')));
  await eventually(() => stateOf(pipeline, path.join(dir, 'drop', 'keep')) === 'installed', 'installed');
  t.equal(readFileSync(path.join(dir, 'drop', 'keep', 'airlock.json'), 'utf8'), '{}');
  await pipeline.stop();
});

t.test('news about a drop that arrives while its model deploys is handled after the deploy', async (t) => {
  const dir = t.testdir();
  let finishDeploy: () => void = () => {};
  const deployer = {
    deploy: () =>
      new Promise<DeployResult>((resolve) => (finishDeploy = () => resolve({ state: { state: 'ready' }, current: {} as never, fellBack: false }))),
  };
  const deployments = {
    list: async () => [{ name: 'test/dep', current: { manifestDigest: 'c'.repeat(64) } as never, kept: [] }],
    rollback: async () => ({}) as never,
  };
  const { pipeline, installer } = setup(dir, { deployer, deployments });
  installer.digestFor = () => 'c'.repeat(64);
  pipeline.handle(complete('/drop/dep', 'f1'));
  await eventually(() => stateOf(pipeline, '/drop/dep') === 'deploying', 'deploying');
  pipeline.handle({ type: 'arriving', candidate: cand('/drop/dep'), progress: { bytesPresent: 3 } });
  t.equal(stateOf(pipeline, '/drop/dep'), 'deploying', 'the deploy is not disturbed');
  finishDeploy();
  await eventually(() => stateOf(pipeline, '/drop/dep') === 'arriving', 'then the new arrival is taken up');
  t.equal(pipeline.get(recordIdFor('/drop/dep'))!.arrival.bytesPresent, 3);
  await pipeline.stop();
});
