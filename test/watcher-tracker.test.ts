// The arrival tracker over real chokidar on real folders: what it reports, what it ignores, a stick mounted later.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ArrivalTracker, type ArrivalEvent } from '../src/watcher/arrival-tracker.js';
import { createChokidarSource } from '../src/watcher/chokidar-source.js';
import { bundleFilesIn } from '../src/watcher/scan-new-dir.js';
import type { WatchRoot } from '../src/watcher/fs-events.js';
import { writeDirBundle } from './helpers/bundle-builder.js';

async function track(t: { teardown(fn: () => unknown): void }, roots: WatchRoot[], quietPeriodMs = 200) {
  const events: ArrivalEvent[] = [];
  const tracker = new ArrivalTracker({ roots, quietPeriodMs, source: createChokidarSource() });
  await tracker.start((e) => events.push(e));
  t.teardown(() => tracker.close());
  const until = async (pred: () => boolean, what: string, ms = 15000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}; events ${JSON.stringify(events.map((e) => [e.type, e.candidate.location]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { tracker, events, until };
}

const completeAt = (events: ArrivalEvent[], location: string) => events.filter((e) => e.type === 'complete' && e.candidate.location === location);

t.test('a folder bundle written into the drop is reported arriving, then complete once', async (t) => {
  const drop = t.testdir();
  const { events, until } = await track(t, [{ path: drop, depth: 2, media: false }]);
  const dir = path.join(drop, 'b1');
  await writeDirBundle(dir);
  await until(() => completeAt(events, dir).length === 1, 'complete');
  t.ok(
    events.some((e) => e.type === 'arriving' && e.candidate.location === dir),
    'arriving reported first',
  );
  t.match(completeAt(events, dir)[0], { candidate: { form: 'dir', media: false, root: drop } });
  await new Promise((r) => setTimeout(r, 600));
  t.equal(completeAt(events, dir).length, 1, 'unchanged content is not reported again');

  // New content at the same place is a new arrival (same size: a shorter file would still be arriving).
  const config = path.join(dir, 'payload', 'config.json');
  const old = await fsp.readFile(config);
  await fsp.writeFile(config, Buffer.from(old.toString('utf8').replace('Llama', 'LLAMA')));
  await until(() => completeAt(events, dir).length === 2, 'second complete after a change');
  await fsp.rm(dir, { recursive: true });
  await until(() => events.some((e) => e.type === 'gone' && e.candidate.location === dir), 'gone');
});

t.test('rsync temp names, --partial-dir folders and hidden files are never candidates', async (t) => {
  const drop = t.testdir();
  const { events, tracker } = await track(t, [{ path: drop, depth: 3, media: false }]);
  await fsp.writeFile(path.join(drop, '.b2.airlock.tar.aB3dE9'), Buffer.alloc(100));
  await fsp.mkdir(path.join(drop, '.rsync-partial'));
  await fsp.writeFile(path.join(drop, '.rsync-partial', 'b3.airlock.tar'), Buffer.alloc(100));
  await fsp.mkdir(path.join(drop, '.hidden'));
  await writeDirBundle(path.join(drop, '.hidden', 'b4'));
  await fsp.writeFile(path.join(drop, '.airlock.parts.json'), '{}');
  await new Promise((r) => setTimeout(r, 1000));
  t.same(events, []);
  t.same(tracker.locations(), []);
  // The rsync rename at the end makes it a bundle.
  await fsp.rename(path.join(drop, '.b2.airlock.tar.aB3dE9'), path.join(drop, 'b2.airlock.tar'));
  await new Promise((r) => setTimeout(r, 1000));
  t.same(tracker.locations(), [path.join(drop, 'b2.airlock.tar')]);
});

t.test('a stick mounted under a media root after start is seen, within the depth bound only', async (t) => {
  const media = t.testdir();
  const { events, until } = await track(t, [{ path: media, depth: 3, media: true }]);
  const stick = path.join(media, 'operator', 'STICK');
  await fsp.mkdir(stick, { recursive: true });
  await writeDirBundle(path.join(stick, 'bundle'));
  await until(() => completeAt(events, path.join(stick, 'bundle')).length === 1, 'bundle on the stick');
  t.equal(completeAt(events, path.join(stick, 'bundle'))[0]!.candidate.media, true);
  await fsp.mkdir(path.join(stick, 'deep', 'er'), { recursive: true });
  await writeDirBundle(path.join(stick, 'deep', 'er', 'too-deep'));
  await new Promise((r) => setTimeout(r, 1000));
  t.notOk(
    events.some((e) => e.candidate.location.includes('too-deep')),
    'deeper than mediaDepth is not watched',
  );
});

t.test('an airlock.json or tar inside a folder bundle is payload, not another bundle', async (t) => {
  const drop = t.testdir();
  const { events, until, tracker } = await track(t, [{ path: drop, depth: 4, media: false }]);
  const dir = path.join(drop, 'outer');
  await writeDirBundle(dir, {
    files: [
      { path: 'inner/airlock.json', data: Buffer.from('{}') },
      { path: 'x.airlock.tar', data: Buffer.alloc(10) },
    ],
  });
  await until(() => completeAt(events, dir).length === 1, 'outer complete');
  await new Promise((r) => setTimeout(r, 500));
  t.same(tracker.locations(), [dir]);
});

t.test('bundles already in the drop at start are found by the first scan', async (t) => {
  const drop = t.testdir();
  await writeDirBundle(path.join(drop, 'early'));
  const { events, until } = await track(t, [{ path: drop, depth: 2, media: false }]);
  await until(() => completeAt(events, path.join(drop, 'early')).length === 1, 'early bundle');
  t.pass('found');
});

t.test('remember(): content handled before a restart is not reported again; changed content is', async (t) => {
  const drop = t.testdir();
  const dir = path.join(drop, 'b');
  await writeDirBundle(dir);
  const first = await track(t, [{ path: drop, depth: 2, media: false }]);
  await first.until(() => completeAt(first.events, dir).length === 1, 'first run');
  const fingerprint = (completeAt(first.events, dir)[0] as Extract<ArrivalEvent, { type: 'complete' }>).fingerprint;
  await first.tracker.close();

  const events: ArrivalEvent[] = [];
  const again = new ArrivalTracker({ roots: [{ path: drop, depth: 2, media: false }], quietPeriodMs: 200, source: createChokidarSource() });
  again.remember(dir, fingerprint);
  await again.start((e) => events.push(e));
  t.teardown(() => again.close());
  await new Promise((r) => setTimeout(r, 1000));
  t.same(events, [], 'nothing reported for the remembered content');
  await fsp.appendFile(path.join(dir, 'payload', 'tokenizer.json'), ' ');
  const end = Date.now() + 10000;
  while (!events.some((e) => e.type === 'complete') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  t.ok(
    events.some((e) => e.type === 'complete'),
    'changed content is reported',
  );
});

t.test('a new folder is read for bundle files within the depth bound, as chokidar counts depth', async (t) => {
  const root = t.testdir({
    operator: {
      STICK: {
        bundle: { 'airlock.json': '{}', payload: { 'x.airlock.tar': '' } },
        'm.airlock.tar': '',
        'm.airlock.parts.json': '{}',
        'notes.txt': '',
        '.hidden': { 'h.airlock.tar': '' },
        deep: { er: { 'too-deep.airlock.tar': '' } },
      },
    },
  });
  const found = await bundleFilesIn({ path: root, depth: 3, media: true }, path.join(root, 'operator'));
  const rel = found.map((p) => path.relative(root, p)).sort();
  // operator/STICK/deep/er is 4 levels down: chokidar with depth 3 does not read it, and neither do we.
  // operator/STICK/bundle/payload (4 levels) is not read either, so x.airlock.tar is not reported.
  t.same(rel, ['operator/STICK/bundle/airlock.json', 'operator/STICK/m.airlock.parts.json', 'operator/STICK/m.airlock.tar']);
  t.same(await bundleFilesIn({ path: root, depth: 1, media: false }, path.join(root, 'operator')), [], 'files two levels down with depth 1');
  t.same(await bundleFilesIn({ path: root, depth: 3, media: false }, path.join(root, 'gone')), [], 'a folder gone again');
});

t.test('a bundle written into a folder the moment it appears is found even when chokidar misses it', async (t) => {
  // The bundle lands in a new folder; from the source's events alone (no tracker), the airlock.json must be
  // reported as added, by chokidar or by the source's own read of the new folder.
  const root = t.testdir();
  const source = createChokidarSource();
  const adds: string[] = [];
  await source.start(
    [{ path: root, depth: 3, media: false }],
    (e) => e.type === 'add' && adds.push(e.path),
    () => undefined,
  );
  t.teardown(() => source.close());
  for (let i = 0; i < 20; i++) await writeDirBundle(path.join(root, `new-${i}`, 'b'));
  const end = Date.now() + 15000;
  const expected = Array.from({ length: 20 }, (_, i) => path.join(root, `new-${i}`, 'b', 'airlock.json'));
  while (!expected.every((p) => adds.includes(p)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  t.same(
    expected.filter((p) => !adds.includes(p)),
    [],
    'every airlock.json reported',
  );
});
