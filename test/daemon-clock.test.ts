// One clock for the daemon (issue 12): expiry is judged, and the store, the records and the audit trail are
// stamped, at the time of the clock the daemon is given, in its identify and install workers too. A bundle that
// expires tomorrow is valid by the system's clock and expired by a daemon whose clock says next week.
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { configFromDocument } from '../src/config/load-config.js';
import { startDaemon } from '../src/daemon/daemon.js';
import { createLoggers } from '../src/daemon/logger.js';
import { productionDeps } from '../src/daemon/production.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import type { StoreState } from '../src/store/state.js';
import { airlock } from './helpers/cli.js';
import { testConfig } from './helpers/daemon.js';
import { packFixture } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const DEMO_KEY = path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519');

async function until<T>(pick: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pick();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('a bundle valid today is expired for a daemon whose clock says next week; everything it writes carries that time', async (t) => {
  const dir = scratchDir(t);
  const nextWeek = new Date(Math.floor(Date.now() / 1000) * 1000 + 7 * 24 * 3600 * 1000);
  const loaded = { config: configFromDocument(testConfig(dir), dir, 'test'), source: 'test', demoTrust: false };
  const deps = await productionDeps(loaded, createLoggers('silent', new PassThrough()), 't', () => nextWeek);
  const daemon = await startDaemon(loaded, deps);
  t.teardown(() => daemon.stop());

  const expiring = await packFixture(t, { fixture: 'model-dir', name: 'clock/expiring', expires: '24h', signKeys: [DEMO_KEY] });
  const lasting = await packFixture(t, { fixture: 'model-dir', name: 'clock/lasting', signKeys: [DEMO_KEY] });
  const today = await airlock(['verify', expiring.location, '--trust', DEMO_ALLOWED_SIGNERS]);
  t.equal(today.exitCode, 0, `by the system's clock the bundle is valid: ${today.stderr}`);

  const drop = loaded.config.dropFolders[0]!;
  await cp(expiring.location, path.join(drop, 'expiring'), { recursive: true });
  await cp(lasting.location, path.join(drop, 'lasting'), { recursive: true });
  const finished = (name: string) => () =>
    daemon.pipeline.records().find((r: BundleRecord) => r.location.endsWith(`/${name}`) && ['installed', 'rejected', 'failed'].includes(r.state));
  const rejected = await until(finished('expiring'), 'the expiring bundle to finish');
  const installed = await until(finished('lasting'), 'the lasting bundle to finish');

  t.match(rejected, { state: 'rejected', error: { code: 'EXPIRED' } }, 'expired by the daemon clock (judged in the identify worker)');
  t.equal(installed.state, 'installed', JSON.stringify(installed.error ?? {}));
  t.equal(installed.updatedAt, nextWeek.toISOString(), 'the record is stamped with the daemon clock');
  const state = JSON.parse(await readFile(path.join(loaded.config.store, 'state.json'), 'utf8')) as StoreState;
  const record = state.models.find((m) => m.name === 'clock/lasting')?.deployments[0];
  t.equal(record?.installedAt, nextWeek.toISOString(), 'installedAt in the store is the daemon clock');
  t.equal(state.updated, nextWeek.toISOString(), 'and so is the state commit');
  await daemon.stop(); // the audit trail is flushed
  const audit = await readFile(path.join(loaded.config.store, 'daemon', 'audit.jsonl'), 'utf8');
  const events = audit
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { at: string; event: string });
  t.ok(events.length > 0, 'audit events were written');
  t.same(
    events.filter((e) => e.at !== nextWeek.toISOString()),
    [],
    'every audit event carries the daemon clock',
  );
});
