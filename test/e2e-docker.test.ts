// End to end on a real Docker Engine: a signed bundle holding the fake NIM image, dropped into the real
// daemon's folder, ends as a container answering /v1/models on the published port; a newer bundle that
// never becomes ready is rolled back and the old model serves again.
import t from 'tap';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import type { BundleRecord } from '../src/pipeline/types.js';
import { freePort, removeContainers, requireDocker } from './helpers/docker.js';
import { startTestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';
import { imageArchive, packNimBundle } from './helpers/nim-bundles.js';

const MODEL = `e2e/model-${process.pid}`;

async function models(port: number): Promise<{ status: number; ids: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/models`);
  const body = res.ok ? ((await res.json()) as { data: Array<{ id: string }> }) : { data: [] };
  return { status: res.status, ids: body.data.map((m) => m.id) };
}

t.test('a dropped bundle is deployed, and a bad newer one rolls back', async (t) => {
  if (!(await requireDocker(t))) return;
  t.teardown(() => removeContainers(`airlock.model=${MODEL}`));
  const dir = scratchDir(t);
  const { file } = await imageArchive(dir);
  const good = await packNimBundle(t, { name: MODEL, sequence: 1, servedModelName: 'e2e-model', archive: file });
  const bad = await packNimBundle(t, { name: MODEL, sequence: 2, servedModelName: 'e2e-model-v2', notReady: true });

  const port = await freePort();
  const runtime = {
    kind: 'docker',
    gpus: 'none',
    publishHost: '127.0.0.1',
    publishPort: port,
    servedModelName: 'e2e-model',
    readyTimeoutMs: 60000,
    pollIntervalMs: 200,
  };
  let d = await startTestDaemon(t, { dir: path.join(dir, 'daemon'), config: { runtime } });

  await cp(good.location, path.join(d.drop, 'good'), { recursive: true });
  const ready = await d.waitFor((bs) => bs.find((b) => b.bundleId === good.id && (b.state === 'ready' || b.state === 'failed')), {
    timeoutMs: 90000,
    what: 'the first bundle deployed',
  });
  t.equal(ready.state, 'ready', JSON.stringify(ready.deployment));
  t.equal(ready.deployment?.state, 'ready');
  t.match(ready.deployment?.containerId, /^[0-9a-f]{64}$/);
  t.same(await models(port), { status: 200, ids: ['e2e-model'] }, '/v1/models through the published port names the served model');
  const status = await d.api<{ bundles: Record<string, number>; models: Array<{ name: string }> }>('/v1/status');
  t.equal(status.body.bundles['ready'], 1, '/v1/status counts the bundle as ready');

  // The newer bundle never becomes ready: a short timeout, then the runtime restarts the first one.
  await d.stop();
  d = await startTestDaemon(t, {
    dir: path.join(dir, 'daemon'),
    config: { runtime: { ...runtime, servedModelName: undefined, readyTimeoutMs: 4000 } },
  });
  await cp(bad.location, path.join(d.drop, 'bad'), { recursive: true });
  const back = await d.waitFor((bs: BundleRecord[]) => bs.find((b) => b.bundleId === bad.id && (b.state === 'ready' || b.state === 'failed')), {
    timeoutMs: 90000,
    what: 'the second bundle settled',
  });
  t.equal(back.state, 'failed');
  t.equal(back.deployment?.state, 'rolled-back');
  t.equal(back.deployment?.code, 'ROLLED_BACK');
  t.same(await models(port), { status: 200, ids: ['e2e-model'] }, 'the old model serves again');
  const deployments = await d.api<{ models: Array<{ name: string; current?: { bundleId: string } }> }>('/v1/deployments');
  t.equal(deployments.body.models.find((m) => m.name === MODEL)?.current?.bundleId, good.id, "the store's current deployment follows the rollback");
  await d.stop();
});
