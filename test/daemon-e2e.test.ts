// The real daemon (child process) taking real signed bundles from a drop folder: rsync, a slowly copied tar,
// split parts out of order, a tampered bundle; `airlock status` against it.
import { execFile } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { BundleRecord } from '../src/pipeline/types.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';
import { auditLines, startTestDaemon, type TestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';
import { packFixture } from './helpers/fixtures.js';
import { snapshotStore } from './helpers/store.js';

const run = promisify(execFile);
const DEMO_KEY = path.join(PACKAGE_ROOT, 'fixtures', 'keys', 'demo_ed25519');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store without the daemon's own folder: what an install changes. */
async function storeContent(store: string): Promise<string[]> {
  const all = await snapshotStore(store).catch(() => [] as string[]);
  return all.filter((l) => !/^\S+ daemon(\/|\s)/.test(l));
}

const byName = (name: string) => (bs: BundleRecord[]) => bs.find((b) => b.name === name && ['installed', 'rejected', 'failed'].includes(b.state));

t.test('daemon end to end', async (t) => {
  const work = scratchDir(t);
  // Quiet period well above the pauses of the slow copy below, so the tar is never taken for complete early.
  const d: TestDaemon = await startTestDaemon(t, { dir: path.join(work, 'daemon'), config: { quietPeriodMs: 2500 } });
  t.equal(d.lines().filter((l) => l.msg.includes('DEMO KEY TRUSTED')).length, 1, 'the demo trust file is called out in the log');

  await t.test('rsync -a of a folder bundle into the drop installs it', async (t) => {
    const packed = await packFixture(t, { fixture: 'nim-cache', signKeys: [DEMO_KEY], name: 'test/rsync' });
    await run('rsync', ['-a', `${packed.location}/`, path.join(d.drop, 'rsynced/')]);
    const b = await d.waitFor(byName('test/rsync'), { what: 'rsynced bundle settled' });
    t.match(b, { state: 'installed', form: 'dir', manifestDigest: packed.manifestDigest, bundleId: packed.id });
    t.match(b.trust, { satisfied: true, signers: [{ status: 'trusted', principals: ['demo@airlock.invalid'], fingerprint: /^SHA256:/ }] });
    const status = await d.api<{ models: Array<{ name: string; current?: { bundleId: string } }> }>('/v1/status');
    t.match(
      status.body.models.find((m) => m.name === 'test/rsync'),
      { current: { bundleId: packed.id } },
    );
    t.ok(
      auditLines(d, 'accepted').some(
        (l) => l['manifestDigest'] === packed.manifestDigest && JSON.stringify(l['signers']).includes('demo@airlock.invalid'),
      ),
      'accepted audit line names the signer',
    );
    t.ok(auditLines(d, 'installed').some((l) => l['bundleId'] === packed.id && typeof l['sequence'] === 'number'));
    t.ok(await fsp.stat(path.join(d.drop, 'rsynced', 'airlock.json')), 'the drop is left in place');
  });

  await t.test('a tar copied slowly is reported arriving with growing bytes, then installed', async (t) => {
    const packed = await packFixture(t, { fixture: 'model-store', signKeys: [DEMO_KEY], name: 'test/slow-tar', format: 'tar' });
    const bytes = readFileSync(packed.location);
    const dest = path.join(d.drop, path.basename(packed.location));
    const fh = await fsp.open(dest, 'w');
    const seen: number[] = [];
    const chunks = 8;
    const size = Math.ceil(bytes.length / chunks);
    for (let i = 0; i < chunks; i++) {
      await fh.write(bytes.subarray(i * size, (i + 1) * size));
      await fh.sync();
      await sleep(300);
      const b = (await d.bundles()).find((x) => x.location === dest);
      if (b) {
        t.equal(b.state, 'arriving', `still arriving after chunk ${i + 1}`);
        t.equal(b.arrival.bytesExpected, undefined, 'a tar has no known total');
        seen.push(b.arrival.bytesPresent);
      }
    }
    await fh.close();
    t.ok(seen.length >= 4, 'progress was visible while copying');
    t.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]!) && seen[seen.length - 1]! > seen[0]!, `bytesPresent grew: ${seen.join(' ')}`);
    const done = await d.waitFor(byName('test/slow-tar'), { what: 'slow tar settled' });
    t.match(done, { state: 'installed', form: 'tar', arrival: { bytesPresent: bytes.length } });
  });

  await t.test('split parts copied out of order install once all are present', async (t) => {
    const packed = await packFixture(t, { fixture: 'nim-cache', signKeys: [DEMO_KEY], name: 'test/split', split: '8K' });
    t.equal(packed.form, 'split');
    // The parts and an unsigned index (as packed before indexes were signed): installed once all are in one folder.
    const parts = packed.outputs.filter((o) => /\.airlock\.tar\.\d{3}$/.test(o));
    t.ok(parts.length >= 3, `several parts (${parts.length})`);
    const order = [...parts].reverse();
    // The index arrives in the middle: the daemon must wait for the rest.
    order.splice(Math.floor(order.length / 2), 0, packed.location);
    for (const f of order) {
      await fsp.copyFile(f, path.join(d.drop, path.basename(f)));
      await sleep(100);
    }
    const b = await d.waitFor(byName('test/split'), { what: 'split bundle settled' });
    t.match(b, { state: 'installed', form: 'split', manifestDigest: packed.manifestDigest });
    t.equal(b.arrival.bytesExpected, b.arrival.bytesPresent);
  });

  await t.test('a tampered bundle is rejected with its code, the store unchanged, an audit event written', async (t) => {
    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name: 'test/tampered' });
    const victim = path.join(packed.location, 'payload', 'config.json');
    const original = await fsp.readFile(victim);
    const evil = Buffer.from(original);
    evil[1] = evil[1] === 0x20 ? 0x09 : 0x20; // same size, one byte different
    await fsp.writeFile(victim, evil);
    const before = await storeContent(d.store);
    await run('rsync', ['-a', `${packed.location}/`, path.join(d.drop, 'tampered/')]);
    const b = await d.waitFor(byName('test/tampered'), { what: 'tampered settled' });
    t.equal(b.state, 'rejected');
    t.equal(b.error?.code, 'HASH_MISMATCH');
    t.ok(
      b.error?.failures.some((f) => f.code === 'HASH_MISMATCH' && f.path?.includes('config.json')),
      'the failure names the file',
    );
    t.same(await storeContent(d.store), before, 'the store is unchanged');
    const line = auditLines(d, 'rejected').find((l) => l['manifestDigest'] === packed.manifestDigest);
    t.match(line, { code: 'HASH_MISMATCH', name: 'test/tampered', bundleId: packed.id });
    const fileAudit = readFileSync(path.join(d.store, 'daemon', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    t.ok(
      fileAudit.some((e) => e['event'] === 'rejected' && e['code'] === 'HASH_MISMATCH'),
      'audit.jsonl has it too',
    );
    const detail = await d.api<{ bundle: BundleRecord }>(`/v1/bundles/${b.id}`);
    t.match(detail.body.bundle.signers, [{ status: 'trusted', principals: ['demo@airlock.invalid'] }], 'the signature itself was fine');
  });

  await t.test('airlock status shows the daemon as a table and as JSON', async (t) => {
    const table = await airlock(['status', '--url', d.url]);
    t.equal(table.exitCode, 0, table.stderr);
    t.match(table.stdout, /WARNING: the demo key is trusted/);
    t.match(table.stdout, /test\/rsync\s+\S+\s+\d+\s+installed/);
    t.match(table.stdout, /test\/tampered .*rejected .*HASH_MISMATCH/);
    t.match(table.stdout, /MODEL\s+CURRENT/);
    const json = await airlock(['status', '--url', d.url, '--json']);
    t.equal(json.exitCode, 0);
    const doc = JSON.parse(json.stdout) as { status: { version: string }; bundles: BundleRecord[] };
    t.type(doc.status.version, 'string');
    t.ok(doc.bundles.length >= 4);
  });

  await t.test('SIGTERM stops the daemon cleanly', async (t) => {
    const exit = await d.stop();
    t.same(exit, { code: 0, signal: null });
    t.ok(d.lines().some((l) => l.msg === 'stopped'));
  });
});

t.test('airlock status with no daemon answering: exit 1 DAEMON_UNREACHABLE', async (t) => {
  const res = await airlock(['status', '--url', 'http://127.0.0.1:9']);
  t.equal(res.exitCode, 1);
  t.equal(res.errorCode, 'DAEMON_UNREACHABLE');
});
