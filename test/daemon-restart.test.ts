// A restart loses nothing: a daemon killed (or stopped) in the middle of verifying a 400 MB bundle verifies it
// again from the start on its next run, and the API keeps answering while it hashes.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { listDeployments } from '../src/store/deployments.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { auditLines, startTestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';
import { packFixture } from './helpers/fixtures.js';

const DEMO_KEY = path.join(PACKAGE_ROOT, 'fixtures', 'keys', 'demo_ed25519');
const MiB = 1024 * 1024;

/** A model folder with one large generated weights file (a pattern, not zeros: nothing sparse). */
async function largeModel(dir: string, mib: number): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 7919) % 251;
  const fh = await fsp.open(path.join(dir, 'model.safetensors'), 'w');
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    await fh.write(block);
  }
  await fh.close();
  await fsp.writeFile(path.join(dir, 'config.json'), '{"architectures":["LlamaForCausalLM"]}\n');
  return dir;
}

const isMidVerification = (b: BundleRecord | undefined) =>
  b?.state === 'verifying' && b.verification.bytesDone > 0 && b.verification.bytesDone < b.verification.bytesTotal;

for (const how of ['SIGKILL', 'SIGTERM'] as const) {
  t.test(`a daemon stopped by ${how} mid-verification installs the bundle after restart`, async (t) => {
    const work = scratchDir(t);
    const model = await largeModel(path.join(work, 'model'), 400);
    const packed = await packFixture(t, { source: model, signKeys: [DEMO_KEY], name: `test/large-${how.toLowerCase()}`, format: 'tar' });
    await fsp.rm(model, { recursive: true });
    const daemonDir = path.join(work, 'daemon');
    const first = await startTestDaemon(t, { dir: daemonDir, config: { quietPeriodMs: 300 } });
    // A rename into the drop: the whole tar appears at once.
    const dropped = path.join(first.drop, path.basename(packed.location));
    await fsp.rename(packed.location, dropped);

    const mid = await first.waitFor((bs) => bs.find((b) => isMidVerification(b)), { what: 'mid-verification', timeoutMs: 120000 });
    t.ok(mid.verification.bytesTotal >= 400 * MiB, 'the bundle is large');
    // The API answered that poll while the worker was hashing; ask a few more things to be sure.
    t.equal((await first.api('/healthz')).status, 200);
    t.equal((await first.api('/v1/status')).status, 200);

    const exit = await first.stop(how);
    if (how === 'SIGTERM') t.same(exit, { code: 0, signal: null }, 'graceful stop aborts the verification and exits 0');
    else t.equal(exit.signal, 'SIGKILL');
    t.same(await listDeployments(first.store), [], 'nothing was installed by the interrupted run');

    const second = await startTestDaemon(t, { dir: daemonDir, config: { quietPeriodMs: 300 } });
    const done = await second.waitFor((bs) => bs.find((b) => b.location === dropped && ['installed', 'rejected', 'failed'].includes(b.state)), {
      what: 'installed after restart',
      timeoutMs: 180000,
    });
    t.equal(done.state, 'installed', JSON.stringify(done.error ?? {}));
    t.equal(done.manifestDigest, packed.manifestDigest);
    t.equal(done.install?.status, 'installed', 'verified and installed from the start by the second run');
    const models = await listDeployments(second.store);
    t.equal(models.length, 1);
    t.equal(models[0]!.current?.bundleId, packed.id);
    t.equal(auditLines(second, 'installed').length, 1);
    t.equal((await fsp.stat(dropped)).size > 0, true, 'the drop is untouched');
    await second.stop();
  });
}
