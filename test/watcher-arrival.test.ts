// What counts as a bundle, what is ignored, and when an arriving bundle is complete (pure parts and real folders).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { decideArrival } from '../src/watcher/arrival.js';
import { candidateForFile, indexForPart, isIgnoredPath } from '../src/watcher/candidates.js';
import { probeCandidate, type Probe } from '../src/watcher/probe.js';
import { defaultFiles, manifestFor, writeDirBundle } from './helpers/bundle-builder.js';

t.test('rsync temp files, --partial-dir folders and other hidden names are ignored (relative to the root only)', async (t) => {
  const root = '/srv/.hidden-parent/drop';
  t.equal(isIgnoredPath(root, root), false, 'a root under a hidden folder is still watched');
  t.equal(isIgnoredPath(root, `${root}/.b1.airlock.tar.Xy12Ab`), true, 'rsync temp file');
  t.equal(isIgnoredPath(root, `${root}/b1/.airlock.json.k3J9aQ`), true, 'rsync temp inside a bundle');
  t.equal(isIgnoredPath(root, `${root}/.rsync-partial/b1.airlock.tar`), true, '--partial-dir');
  t.equal(isIgnoredPath(root, `${root}/b1/payload/.DS_Store`), true);
  t.equal(isIgnoredPath(root, `${root}/b1/payload/model.safetensors`), false);
  t.equal(isIgnoredPath(root, '/elsewhere/b1'), true, 'outside the root');
  t.equal(candidateForFile(root, `${root}/.b1.airlock.tar.Xy12Ab`, false), undefined);
  t.equal(candidateForFile(root, `${root}/.rsync-partial/b1.airlock.tar`, false), undefined);
  t.equal(candidateForFile(root, `${root}/sub/.b1/airlock.json`, false), undefined);
});

t.test('candidates: a folder with airlock.json, a .airlock.tar, a part index', async (t) => {
  const root = '/drop';
  t.match(candidateForFile(root, '/drop/b1/airlock.json', false), { form: 'dir', location: '/drop/b1', root, media: false });
  t.match(candidateForFile(root, '/drop/x/b2.airlock.tar', true), { form: 'tar', location: '/drop/x/b2.airlock.tar', media: true });
  t.match(candidateForFile(root, '/drop/b3.airlock.parts.json', false), { form: 'split', location: '/drop/b3.airlock.parts.json' });
  t.equal(candidateForFile(root, '/drop/airlock.json', false), undefined, 'the root itself is never a bundle');
  t.equal(candidateForFile(root, '/drop/b3.airlock.tar.000', false), undefined, 'a part alone is not a bundle');
  t.equal(candidateForFile(root, '/drop/.airlock.tar', false), undefined);
  t.equal(candidateForFile(root, '/drop/notes.txt', false), undefined);
  t.equal(indexForPart('/drop/b3.airlock.tar.017'), '/drop/b3.airlock.parts.json');
  t.equal(indexForPart('/drop/b3.airlock.tar'), undefined);
});

const probe = (p: Partial<Probe>): Probe => ({ gone: false, complete: true, bytesPresent: 10, bytesExpected: 10, fingerprint: 'f1', ...p });

t.test('arrival decision: complete only after the quiet period without change', async (t) => {
  const q = 1000;
  const a = decideArrival(undefined, probe({}), 0, q);
  t.equal(a.kind, 'arriving', 'first sight starts the quiet period');
  if (a.kind !== 'arriving') return;
  t.equal(decideArrival(a.state, probe({}), 999, q).kind, 'arriving', 'not yet quiet');
  const changed = decideArrival(a.state, probe({ fingerprint: 'f2' }), 999, q);
  t.equal(changed.kind, 'arriving');
  if (changed.kind !== 'arriving') return;
  t.equal(changed.state.stableSince, 999, 'a change restarts the quiet period');
  t.equal(decideArrival(changed.state, probe({ fingerprint: 'f2' }), 1500, q).kind, 'arriving');
  const done = decideArrival(changed.state, probe({ fingerprint: 'f2' }), 1999, q);
  t.equal(done.kind, 'complete');
  if (done.kind !== 'complete') return;
  t.equal(decideArrival(done.state, probe({ fingerprint: 'f2' }), 5000, q).kind, 'unchanged', 'handed on once');
  t.equal(decideArrival(done.state, probe({ fingerprint: 'f3' }), 5000, q).kind, 'arriving', 'new content arrives again');
  t.equal(decideArrival(done.state, probe({ gone: true }), 5000, q).kind, 'gone');
});

t.test('arrival decision: an incomplete bundle never completes, however quiet', async (t) => {
  const a = decideArrival(undefined, probe({ complete: false, bytesPresent: 4 }), 0, 10);
  if (a.kind !== 'arriving') {
    t.fail('expected arriving');
    return;
  }
  const later = decideArrival(a.state, probe({ complete: false, bytesPresent: 4 }), 1_000_000, 10);
  t.match(later, { kind: 'arriving', progress: { bytesPresent: 4, bytesExpected: 10 } });
});

t.test('probe of a folder bundle on disk: bytes present of expected, symlinks and omitted files never expected', async (t) => {
  const dir = path.join(t.testdir(), 'b1');
  const files = defaultFiles();
  const manifest = manifestFor(files) as { files: Array<Record<string, unknown>> };
  manifest.files.push({ path: 'omitted.bin', size: 1234, sha256: 'a'.repeat(64), omitted: true });
  await writeDirBundle(dir, { files, manifest });
  const expected = files.reduce((n, f) => n + (f.data?.length ?? 0), 0);
  const c = { form: 'dir' as const, location: dir, root: path.dirname(dir), media: false };
  const full = await probeCandidate(c);
  t.match(full, { gone: false, complete: true, bytesPresent: expected, bytesExpected: expected });

  const weights = path.join(dir, 'payload', 'weights', 'model-00001-of-00001.safetensors');
  await fsp.truncate(weights, 1000);
  const partial = await probeCandidate(c);
  t.match(partial, { complete: false, bytesPresent: expected - 4000, bytesExpected: expected });
  t.not(partial.fingerprint, full.fingerprint);

  await fsp.rm(weights);
  t.match(await probeCandidate(c), { complete: false, bytesPresent: expected - 5000 });

  // Larger than declared counts as arrived: verification rejects it rather than it waiting forever.
  await fsp.writeFile(weights, Buffer.alloc(6000));
  t.match(await probeCandidate(c), { complete: true, bytesPresent: expected });

  await fsp.rm(path.join(dir, 'airlock.json'));
  t.match(await probeCandidate(c), { gone: true });
});

t.test('probe: an unreadable manifest is left for verification (complete, nothing expected)', async (t) => {
  const dir = t.testdir({ b: { 'airlock.json': '{ "half": ' } });
  t.match(await probeCandidate({ form: 'dir', location: path.join(dir, 'b'), root: dir, media: false }), {
    complete: true,
    bytesPresent: 0,
    bytesExpected: undefined,
  });
});

t.test('probe of a tar: its size so far, no total; of a split index: every part at its size', async (t) => {
  const dir = t.testdir({ 'b.airlock.tar': Buffer.alloc(3000) });
  t.match(await probeCandidate({ form: 'tar', location: path.join(dir, 'b.airlock.tar'), root: dir, media: false }), {
    complete: true,
    bytesPresent: 3000,
    bytesExpected: undefined,
  });
  const index = {
    schema: 'airlock.parts/v1',
    tar: 's.airlock.tar',
    size: 300,
    sha256: '0'.repeat(64),
    parts: [0, 1, 2].map((i) => ({ name: `s.airlock.tar.00${i}`, size: 100, sha256: '0'.repeat(64) })),
  };
  await fsp.writeFile(path.join(dir, 's.airlock.parts.json'), JSON.stringify(index));
  const c = { form: 'split' as const, location: path.join(dir, 's.airlock.parts.json'), root: dir, media: false };
  await fsp.writeFile(path.join(dir, 's.airlock.tar.002'), Buffer.alloc(100));
  await fsp.writeFile(path.join(dir, 's.airlock.tar.000'), Buffer.alloc(40));
  t.match(await probeCandidate(c), { complete: false, bytesPresent: 140, bytesExpected: 300 });
  await fsp.writeFile(path.join(dir, 's.airlock.tar.000'), Buffer.alloc(100));
  await fsp.writeFile(path.join(dir, 's.airlock.tar.001'), Buffer.alloc(100));
  t.match(await probeCandidate(c), { complete: true, bytesPresent: 300, bytesExpected: 300 });
});
