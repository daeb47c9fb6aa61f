// One bundle cannot wedge the queue (issue 11 §1): a step that makes no progress ends the bundle `failed` with
// STALLED and the next bundle goes ahead, even when the stuck promise never settles; stop() always completes.
// The in-process half; test/daemon-hardening.test.ts does the same to the real daemon with a real FIFO.
import path from 'node:path';
import t from 'tap';
import type { SourceRef } from '../src/bundle/source.js';
import type { AuditInput } from '../src/pipeline/audit-events.js';
import { recordIdFor } from '../src/pipeline/decisions.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { BundleIdentity, InstallCallOptions, InstallOutcome } from '../src/pipeline/ports.js';
import type { ArrivalEvent } from '../src/watcher/arrival-tracker.js';
import { FakeInstaller, eventually } from './helpers/daemon.js';

/** identify never settles for `stuck` locations (a read that never returns); `slow` ones report progress for a while. */
class StuckInstaller extends FakeInstaller {
  readonly stuck = new Set<string>();
  readonly slow = new Map<string, number>();
  /** installs that ignore their signal and wait for `lateRelease` before reporting and succeeding */
  readonly deaf = new Set<string>();
  readonly lateRelease = new Map<string, () => void>();

  override identify(source: SourceRef | string): Promise<BundleIdentity> {
    const location = typeof source === 'string' ? source : source.location;
    if (this.stuck.has(location)) return new Promise<BundleIdentity>(() => {});
    return super.identify(location);
  }

  override async install(source: SourceRef | string, opts: InstallCallOptions): Promise<InstallOutcome> {
    const location = typeof source === 'string' ? source : source.location;
    if (this.deaf.has(location)) {
      opts.onProgress?.({ phase: 'payload', bytesDone: 1, bytesTotal: 1000 });
      await new Promise<void>((resolve) => this.lateRelease.set(location, resolve));
      opts.onProgress?.({ phase: 'payload', bytesDone: 999, bytesTotal: 1000 });
    }
    const ms = this.slow.get(location);
    if (ms !== undefined) {
      const end = Date.now() + ms;
      for (let done = 0; Date.now() < end; done++) {
        opts.onProgress?.({ phase: 'payload', bytesDone: done, bytesTotal: 1e9 });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return super.install(location, opts);
  }
}

function setup(dir: string, extra: Partial<ConstructorParameters<typeof Pipeline>[0]> = {}) {
  const installer = new StuckInstaller();
  const audits: AuditInput[] = [];
  const pipeline = new Pipeline({
    stateFile: path.join(dir, 'bundles.json'),
    installer,
    hooks: { audit: (e) => audits.push(e), changed: () => {} },
    log: { info() {}, warn() {}, error() {} },
    dropFolders: [],
    removeAfterInstall: false,
    retention: 100,
    ...extra,
  });
  return { pipeline, installer, audits };
}

const complete = (location: string): ArrivalEvent => ({
  type: 'complete',
  candidate: { form: 'dir', location, root: path.dirname(location), media: false },
  progress: { bytesPresent: 10, bytesExpected: 10 },
  fingerprint: 'f1',
});
const get = (p: Pipeline, location: string) => p.get(recordIdFor(location));

t.test('a bundle whose manifest read never returns ends failed STALLED, and the queue moves on', async (t) => {
  const { pipeline, installer, audits } = setup(t.testdir(), { stallMs: 300 });
  installer.stuck.add('/drop/fifo');
  pipeline.handle(complete('/drop/fifo'));
  pipeline.handle(complete('/drop/good'));
  await eventually(() => get(pipeline, '/drop/good')?.state === 'installed', 'the next bundle installed');
  t.match(get(pipeline, '/drop/fifo'), { state: 'failed', error: { code: 'STALLED', failureCount: 1 } });
  t.match(
    audits.find((e) => e.event === 'failed'),
    { code: 'STALLED', recordId: recordIdFor('/drop/fifo') },
  );
  t.same(installer.installs, ['/drop/good'], 'the stuck bundle never reached install');
  await pipeline.stop();
});

t.test('a verification that keeps reporting progress is never stalled, however long it takes', async (t) => {
  const { pipeline, installer } = setup(t.testdir(), { stallMs: 400 });
  installer.slow.set('/drop/big', 1500);
  pipeline.handle(complete('/drop/big'));
  await eventually(() => get(pipeline, '/drop/big')?.state === 'installed', 'installed', 20000);
  t.equal(get(pipeline, '/drop/big')?.error, undefined);
  await pipeline.stop();
});

t.test('a verification that stops reporting progress is STALLED; what it reports or returns later is ignored', async (t) => {
  const { pipeline, installer, audits } = setup(t.testdir(), { stallMs: 300 });
  installer.deaf.add('/drop/hung');
  pipeline.handle(complete('/drop/hung'));
  await eventually(() => get(pipeline, '/drop/hung')?.state === 'failed', 'stalled');
  t.match(get(pipeline, '/drop/hung')!.error, { code: 'STALLED' });
  pipeline.handle(complete('/drop/after'));
  await eventually(() => get(pipeline, '/drop/after')?.state === 'installed', 'the next one installed');
  // The stuck install wakes up at last, reports progress and succeeds: too late to count.
  installer.lateRelease.get('/drop/hung')!();
  await new Promise((r) => setTimeout(r, 100));
  t.match(get(pipeline, '/drop/hung'), { state: 'failed', error: { code: 'STALLED' }, verification: { bytesDone: 1 } });
  t.notOk(
    audits.some((e) => e.event === 'installed' && e.recordId === recordIdFor('/drop/hung')),
    'no installed event for it',
  );
  await pipeline.stop();
});

t.test('a stalled step has its signal aborted so it can wind down', async (t) => {
  const { pipeline, installer } = setup(t.testdir(), { stallMs: 300 });
  installer.hold = true;
  pipeline.handle(complete('/drop/held'));
  await eventually(() => get(pipeline, '/drop/held')?.state === 'failed', 'stalled');
  t.same(installer.aborted, ['/drop/held']);
  await pipeline.stop();
});

t.test('stop() completes while a step never settles', async (t) => {
  const { pipeline, installer } = setup(t.testdir(), { stopGraceMs: 200 });
  installer.stuck.add('/drop/fifo');
  pipeline.handle(complete('/drop/fifo'));
  await eventually(() => pipeline.verifying() === recordIdFor('/drop/fifo'), 'verifying');
  await pipeline.stop();
  t.equal(get(pipeline, '/drop/fifo')?.state, 'verifying', 'not finished: it is verified again after a restart');
  t.equal(get(pipeline, '/drop/fifo')?.error, undefined);
});
