// The seam for bundles that arrive from somewhere other than a watched folder (issue 12): an ArrivalSource given to
// the daemon names its bundles by a SourceRef of its own kind; the pipeline keeps that ref in the record, shows it
// in the API and hands it, untouched, to the Installer (which opens it through bundle/sources.ts). Nothing of the
// file system's rules (confinement below a root, removal after install) applies to it.
import t from 'tap';
import type { SourceRef } from '../src/bundle/source.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import type { ArrivalEvent, ArrivalSource } from '../src/watcher/arrival-tracker.js';
import { apiRequest } from '../src/api/client.js';
import { eventually } from './helpers/daemon.js';
import { startInProcess } from './helpers/in-process.js';

/** An arrival source of another kind, driven by the test. */
class TestArrivals implements ArrivalSource {
  listener: ((e: ArrivalEvent) => void) | undefined;
  remembered: string[] = [];
  closed = false;
  async start(listener: (e: ArrivalEvent) => void): Promise<void> {
    this.listener = listener;
  }
  remember(location: string): void {
    this.remembered.push(location);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  arrive(ref: SourceRef): void {
    const candidate = { form: 'tar' as const, location: ref.location, root: '', media: false, source: ref };
    this.listener?.({ type: 'complete', candidate, progress: { bytesPresent: 1000 }, fingerprint: 'v1' });
  }
}

t.test('a bundle from another kind of source keeps its SourceRef from arrival to install', async (t) => {
  const arrivals = new TestArrivals();
  const d = await startInProcess(t, { removeAfterInstall: true }, [], { arrivals: [arrivals] });
  t.ok(arrivals.listener, 'the daemon started the extra arrival source with the watcher');

  const ref: SourceRef = { kind: 'test-registry', location: 'test-registry://mirror.local/models/tiny:1', params: { digest: 'sha256:abc' } };
  arrivals.arrive(ref);
  await eventually(() => d.installer.sources.length === 1, 'the install');
  t.same(d.installer.sources[0], ref, 'the Installer got the very SourceRef the arrival named');

  const record = async () =>
    (await apiRequest<{ bundles: BundleRecord[] }>(d.url, '/v1/bundles')).body.bundles.find((b) => b.location === ref.location);
  await eventually(async () => (await record())?.state === 'installed', 'installed');
  const rec = await record();
  t.same(rec?.source, ref, 'the record and the API show where it came from');
  t.notOk(rec?.removed, 'removeAfterInstall never touches what is not a drop below a drop folder');

  await d.daemon.stop();
  t.ok(arrivals.closed, 'closed with the daemon');
});
