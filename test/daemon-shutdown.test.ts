// Shutdown always completes, whatever a bundle is doing (issue 11): a model whose container is still starting
// (NIM can take many minutes to become ready) does not hold up the daemon's graceful stop; the deploy is abandoned
// and the state file written. The daemon in this process, the deploy use case over an in-memory engine whose
// health endpoint never says ready.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { apiRequest } from '../src/api/client.js';
import { opsDeployer } from '../src/daemon/ops-deployer.js';
import type { DeploymentStore } from '../src/pipeline/ports.js';
import { defaultDeploySettings } from '../src/runtime/config.js';
import type { DeploymentInfo } from '../src/store/deployments.js';
import { eventually } from './helpers/daemon.js';
import { FakeRuntime } from './helpers/fake-runtime.js';
import { dropBundle, startInProcess } from './helpers/in-process.js';

const STOP_BOUND_MS = 20_000;

/** True once `engine` has had no health request for a while: nobody is waiting for readiness any more. */
async function pollingStopped(engine: FakeRuntime): Promise<boolean> {
  // A probe already on its way when the stop came may still land; after that, nothing (the poll is every 100 ms).
  await new Promise((r) => setTimeout(r, 500));
  const before = engine.probes;
  await new Promise((r) => setTimeout(r, 1500));
  return engine.probes === before;
}

/** An engine whose container never becomes ready (as a large NIM can take half an hour), and a store of one deployment. */
async function slowEngine(t: Test) {
  const engine = new FakeRuntime();
  const port = await engine.listen();
  t.teardown(() => engine.close());
  const tree = t.testdir();
  mkdirSync(path.join(tree, 'deployment'));
  const deployment: DeploymentInfo = {
    bundleId: 'slow',
    name: 'test/slow',
    channel: 'stable',
    sequence: 1,
    manifestDigest: createHash('sha256').update('slow').digest('hex'),
    kind: 'model-dir',
    path: path.join(tree, 'deployment'),
    manifestPath: path.join(tree, 'manifest'),
    installedAt: '2026-01-01T00:00:00.000Z',
    imageRefs: ['nim:1'],
    imageArchives: [{ ref: 'nim:1', id: `sha256:${'ab'.repeat(32)}`, path: path.join(tree, 'img'), sha256: 'ab'.repeat(32), size: 1 }],
    hints: { profiles: [] },
    current: true,
    files: 1,
    symlinks: 0,
    bytes: 1,
    linkMode: 'hardlink',
  };
  const deployments: DeploymentStore = {
    list: async () => [{ name: deployment.name, current: deployment, kept: [] }],
    rollback: async () => deployment,
  };
  const settings = { ...defaultDeploySettings, gpus: 'none' as const, publishPort: port, readyTimeoutMs: 1_800_000, pollIntervalMs: 100, env: {} };
  return { engine, deployments, settings };
}

t.test('a stop while a container is still starting completes without waiting for it to become ready', async (t) => {
  const { engine, deployments, settings } = await slowEngine(t);
  const d = await startInProcess(t, {}, [], { deployer: opsDeployer({ runtime: engine, settings, deployments }), deployments });
  dropBundle(d.drop, 'slow');
  await eventually(() => d.daemon.pipeline.records().some((r) => r.state === 'deploying' && r.deployment?.state === 'starting'), 'deploying');
  t.equal(engine.serving(), 'slow', 'the container runs, not ready');

  const stopped = d.daemon.stop().then(() => 'stopped' as const);
  const bound = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), STOP_BOUND_MS).unref());
  t.equal(await Promise.race([stopped, bound]), 'stopped', 'the graceful stop completed without waiting for readiness');
  const saved = JSON.parse(readFileSync(path.join(d.dir, 'store', 'daemon', 'bundles.json'), 'utf8')) as {
    records: Array<{ location: string; state: string; deployment?: { code?: string } }>;
  };
  t.match(
    saved.records.find((r) => r.location.endsWith('/slow')),
    { state: 'failed', deployment: { code: 'ABORTED' } },
    'the state file was written on the way out, saying the deploy was not seen through',
  );
  t.equal(engine.serving(), 'slow', 'the container that was starting is left running: nothing says it is bad');
  t.ok(await pollingStopped(engine), 'and nothing waits for it any more (a wait left behind would keep the process alive)');
});

t.test('a stop while an API rollback waits for its container completes without waiting for it', async (t) => {
  const { engine, deployments, settings } = await slowEngine(t);
  const d = await startInProcess(t, {}, [], { deployer: opsDeployer({ runtime: engine, settings, deployments }), deployments });
  // The answer is the rollback's report, or the connection closed by the stopping server: never a stop held open.
  const answer = apiRequest<{ runtime?: { state: string; code?: string } }>(d.url, '/v1/deployments/test%2Fslow/rollback', {
    method: 'POST',
    token: d.token,
    body: {},
  }).then(
    (r) => r.body.runtime?.code,
    (err: { code?: string }) => err.code,
  );
  await eventually(() => engine.serving() === 'slow', 'the rolled-back container starting');
  const stopped = d.daemon.stop().then(() => 'stopped' as const);
  const bound = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), STOP_BOUND_MS).unref());
  t.equal(await Promise.race([stopped, bound]), 'stopped', 'the graceful stop completed without waiting for readiness');
  t.ok(['ABORTED', 'DAEMON_UNREACHABLE'].includes((await answer) ?? ''), 'the rollback said it was not seen through, or the connection closed');
  t.ok(await pollingStopped(engine), 'nothing waits for the container any more (a wait left behind would keep the process alive)');
});
