// One store writer in the daemon (issue 12): rollbacks posted while a bundle installs, and installs that start
// while rollbacks keep running, all succeed; the daemon never answers STORE_BUSY against itself. Another process holding
// the store's lock still gets STORE_BUSY, naming that process. The real daemon, real store, real HTTP.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { acquireStoreLock } from '../src/store/lock.js';
import { startTestDaemon } from './helpers/daemon.js';
import { packFixture, type PackedFixture } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const DEMO_KEY = path.join(path.dirname(DEMO_ALLOWED_SIGNERS), 'demo_ed25519');
const MODEL = 'test/queue';

t.test('rollbacks during an install and an install during rollbacks all succeed', async (t) => {
  const work = scratchDir(t);
  const d = await startTestDaemon(t, { dir: path.join(work, 'daemon') });
  const packs = [];
  for (const sequence of [1, 2]) packs.push(await packFixture(t, { fixture: 'model-dir', name: MODEL, sequence, signKeys: [DEMO_KEY] }));
  // A bigger third version, so its install takes a while for the rollbacks to land in.
  const big = path.join(work, 'big');
  await cp(path.join(path.dirname(DEMO_ALLOWED_SIGNERS), '..', 'model-dir'), big, { recursive: true });
  await mkdir(path.join(big, 'shards'));
  for (let i = 0; i < 6; i++) await writeFile(path.join(big, 'shards', `s${i}.bin`), randomBytes(40 * 1024 * 1024));
  packs.push(await packFixture(t, { source: big, name: MODEL, sequence: 3, signKeys: [DEMO_KEY], format: 'tar' }));

  for (const [i, p] of packs.slice(0, 2).entries()) {
    await cp(p.location, path.join(d.drop, `v${i + 1}`), { recursive: true });
    await d.waitFor((bs) => bs.find((b) => b.location.endsWith(`/v${i + 1}`) && b.state === 'installed'), { what: `v${i + 1} installed` });
  }
  await mkdir(path.join(d.drop, 'v3'));
  await cp(packs[2]!.location, path.join(d.drop, 'v3', path.basename(packs[2]!.location)));
  const answers: Array<[number, string | undefined]> = [];
  const rollback = async (to: string) => {
    const r = await d.api<{ code?: string }>(`/v1/deployments/${encodeURIComponent(MODEL)}/rollback`, {
      method: 'POST',
      token: d.token,
      body: { to },
    });
    answers.push([r.status, r.body.code]);
  };
  // Roll back and forth from the moment v3 is seen until it is installed.
  await d.waitFor((bs) => bs.some((b) => b.location.includes('/v3/') && ['queued', 'verifying'].includes(b.state)), { what: 'v3 verifying' });
  const ids = [packs[0]!.id, packs[1]!.id];
  for (let i = 0; ; i++) {
    await rollback(ids[i % 2]!);
    const v3 = (await d.bundles()).find((b) => b.location.includes('/v3/'));
    if (v3 && ['installed', 'failed', 'rejected'].includes(v3.state)) break;
    if (i > 2000) throw new Error('v3 never finished');
  }
  // And a few right after the commit, when the next install could start.
  for (let i = 0; i < 5; i++) await rollback(ids[i % 2]!);
  const v3 = (await d.bundles()).find((b) => b.location.includes('/v3/'))!;
  t.equal(v3.state, 'installed', `v3 installed (${v3.error?.code ?? ''})`);
  t.ok(answers.length >= 6, `${answers.length} rollbacks were posted`);
  t.same(
    answers.filter(([s]) => s !== 200),
    [],
    'every rollback answered 200: no STORE_BUSY against itself',
  );
  t.equal((await d.stop()).code, 0);
});

t.test('installs that start while rollbacks keep running all succeed', async (t) => {
  const work = scratchDir(t);
  // Every version stays kept, so a rollback to v1 or v2 always has its target.
  const d = await startTestDaemon(t, { dir: path.join(work, 'daemon'), config: { retention: { deployments: 20 } } });
  const packs: PackedFixture[] = [];
  for (let sequence = 1; sequence <= 7; sequence++)
    packs.push(await packFixture(t, { fixture: 'model-dir', name: MODEL, sequence, signKeys: [DEMO_KEY] }));
  const drop = async (i: number) => {
    await cp(packs[i]!.location, path.join(d.drop, `v${i + 1}`), { recursive: true });
    return d.waitFor((bs) => bs.find((b) => b.location.endsWith(`/v${i + 1}`) && ['installed', 'failed', 'rejected'].includes(b.state)), {
      what: `v${i + 1} finished`,
    });
  };
  for (const i of [0, 1]) t.equal((await drop(i)).state, 'installed');

  // Rollbacks back and forth, one after another without a pause, for as long as the installs below run.
  const answers: Array<[number, string | undefined]> = [];
  let running = true;
  const rollbacks = (async () => {
    for (let i = 0; running; i++) {
      const r = await d.api<{ code?: string }>(`/v1/deployments/${encodeURIComponent(MODEL)}/rollback`, {
        method: 'POST',
        token: d.token,
        body: { to: packs[i % 2]!.id },
      });
      answers.push([r.status, r.body.code]);
    }
  })();
  const finished: BundleRecord[] = [];
  try {
    for (let i = 2; i < packs.length; i++) finished.push(await drop(i));
  } finally {
    running = false;
    await rollbacks;
  }
  t.same(
    finished.map((b) => [b.state, b.error?.code]),
    finished.map(() => ['installed', undefined]),
    'every install that started during rollbacks installed: none failed STORE_BUSY',
  );
  t.ok(answers.length >= finished.length, `${answers.length} rollbacks ran meanwhile`);
  t.same(
    answers.filter(([s]) => s !== 200),
    [],
    'and every rollback answered 200',
  );
  t.equal((await d.stop()).code, 0);
});

t.test('another process holding the store lock still gets STORE_BUSY, naming it', async (t) => {
  const work = scratchDir(t);
  const d = await startTestDaemon(t, { dir: path.join(work, 'daemon') });
  const p = await packFixture(t, { fixture: 'model-dir', name: MODEL, sequence: 1, signKeys: [DEMO_KEY] });
  const q = await packFixture(t, { fixture: 'model-dir', name: MODEL, sequence: 2, signKeys: [DEMO_KEY] });
  for (const [i, b] of [p, q].entries()) {
    await cp(b.location, path.join(d.drop, `v${i + 1}`), { recursive: true });
    await d.waitFor((bs) => bs.find((x) => x.location.endsWith(`/v${i + 1}`) && x.state === 'installed'), { what: `v${i + 1}` });
  }
  const lock = await acquireStoreLock(d.store);
  try {
    const r = await d.api<{ code: string; message: string }>(`/v1/deployments/${encodeURIComponent(MODEL)}/rollback`, {
      method: 'POST',
      token: d.token,
      body: { to: p.id },
    });
    t.equal(r.status, 409);
    t.equal(r.body.code, 'STORE_BUSY');
    t.match(r.body.message, String(process.pid), 'names the process holding it');
  } finally {
    await lock.release();
  }
  t.equal((await d.stop()).code, 0);
});
