// The deploy use case (src/ops/deploy.ts), written once for the CLI, the daemon and the API's rollback, tested
// on every machine with an in-memory engine behind the Runtime seam and a real HTTP health endpoint: one rule for
// the previous deployment, health-wait, restore-previous, and the store's current always on what serves.
import t, { type Test } from 'tap';
import { AirlockError } from '../src/errors.js';
import { deployCurrent, previousDeployment, rollbackAndDeploy, stopModel, type DeployContext } from '../src/ops/deploy.js';
import { defaultDeploySettings } from '../src/runtime/config.js';
import type { DeploymentInfo, ModelDeployments } from '../src/store/deployments.js';
import { FakeRuntime } from './helpers/fake-runtime.js';

function deployment(bundleId: string, over: Partial<DeploymentInfo> = {}): DeploymentInfo {
  return {
    bundleId,
    name: 'test/m',
    channel: 'stable',
    sequence: Number(bundleId.replace(/\D/g, '')) || 1,
    manifestDigest: bundleId.padEnd(64, '0'),
    kind: 'model-dir',
    path: `/store/deployments/${bundleId}`,
    manifestPath: `/store/content/${bundleId}`,
    installedAt: '2026-01-01T00:00:00.000Z',
    imageRefs: ['nim:1'],
    imageArchives: [{ ref: 'nim:1', id: `sha256:${'ab'.repeat(32)}`, path: '/store/content/img', sha256: 'ab'.repeat(32), size: 1 }],
    hints: { profiles: [] },
    current: false,
    files: 1,
    symlinks: 0,
    bytes: 1,
    linkMode: 'hardlink',
    ...over,
  };
}

/** A store of one model whose deployments are `order` (most recently active first), and its rollbacks. */
class FakeStore {
  readonly rollbacks: string[] = [];
  constructor(private order: DeploymentInfo[]) {}
  async list(): Promise<ModelDeployments[]> {
    const [current, ...kept] = this.order.map((d, i) => ({ ...d, current: i === 0 }));
    return [{ name: 'test/m', ...(current ? { current } : {}), kept }];
  }
  async rollback(name: string, to?: string): Promise<DeploymentInfo> {
    this.rollbacks.push(`${name}@${to ?? '(previous)'}`);
    const i = to === undefined ? 1 : this.order.findIndex((d) => d.bundleId === to);
    const target = this.order[i];
    if (!target) throw new AirlockError('NO_SUCH_DEPLOYMENT', `no ${to}`);
    this.order = [target, ...this.order.filter((d) => d !== target)];
    return { ...target, current: true };
  }
  current(): string | undefined {
    return this.order[0]?.bundleId;
  }
}

async function setup(t: Test, order: DeploymentInfo[]) {
  const runtime = new FakeRuntime();
  const port = await runtime.listen();
  t.teardown(() => runtime.close());
  const store = new FakeStore(order);
  const ctx: DeployContext = {
    runtime,
    settings: { ...defaultDeploySettings, gpus: 'none', publishPort: port, readyTimeoutMs: 1500, pollIntervalMs: 100, env: {} },
    deployments: store,
  };
  return { runtime, store, ctx };
}

t.test('one rule for the previous deployment: the most recently active other one that can run', async (t) => {
  const files = deployment('f3', { kind: 'files', imageArchives: [] });
  const imageless = deployment('b2', { imageArchives: [] });
  const model: ModelDeployments = { name: 'test/m', current: deployment('b4', { current: true }), kept: [files, imageless, deployment('b1')] };
  t.equal(previousDeployment(model, 'b4')?.bundleId, 'b1', 'a files bundle and an imageless one are skipped');
  t.equal(previousDeployment(model, 'b1')?.bundleId, 'b4', 'after an operator rollback to b1, the one that was current');
  t.equal(previousDeployment({ name: 'test/m', current: deployment('b4'), kept: [] }, 'b4'), undefined);
});

t.test('a ready deployment: one container, the store untouched', async (t) => {
  const { runtime, store, ctx } = await setup(t, [deployment('b2'), deployment('b1')]);
  runtime.good.add('b2');
  const states: string[] = [];
  const r = await deployCurrent(ctx, 'test/m', { onState: (s) => states.push(s) });
  t.equal(r.outcome.status, 'ready');
  t.equal(r.outcome.health?.status, 200, 'ready by the real health endpoint');
  t.same(states, ['starting', 'ready']);
  t.equal(r.current.bundleId, 'b2');
  t.same(store.rollbacks, []);
  t.equal(runtime.serving(), 'b2');
  t.equal(runtime.containers.size, 1);
});

t.test('a deployment that never gets ready: the previous one serves again and the store points at it, by name', async (t) => {
  const { runtime, store, ctx } = await setup(t, [deployment('b3'), deployment('b2'), deployment('b1')]);
  runtime.good.add('b2');
  const r = await deployCurrent(ctx, 'test/m');
  t.equal(r.outcome.status, 'rolled-back');
  t.equal(r.outcome.code, 'ROLLED_BACK');
  t.equal(r.outcome.previous?.status, 'ready');
  t.equal(runtime.serving(), 'b2', 'the engine runs b2');
  t.same(store.rollbacks, ['test/m@b2'], 'the store is pointed at exactly the deployment the engine restarted');
  t.equal(store.current(), 'b2');
  t.equal(r.current.bundleId, 'b2');
  t.equal(runtime.containers.size, 1, 'the failed container is gone');
  t.match(r.outcome.logs, /log of/, 'its last logs kept');
});

t.test('a crashing container fails fast; with nothing to fall back to the store stays as it is', async (t) => {
  const { runtime, store, ctx } = await setup(t, [deployment('b1')]);
  runtime.crashing.add('b1');
  const r = await deployCurrent(ctx, 'test/m');
  t.equal(r.outcome.status, 'failed');
  t.equal(r.outcome.code, 'CONTAINER_FAILED');
  t.same(store.rollbacks, []);
  t.equal(runtime.containers.size, 0);
});

t.test("the operator's rollback to a deployment that fails puts back the one that was current, in both places", async (t) => {
  const { runtime, store, ctx } = await setup(t, [deployment('b3'), deployment('b2'), deployment('b1')]);
  runtime.good.add('b3');
  await deployCurrent(ctx, 'test/m');
  const r = await rollbackAndDeploy(ctx, 'test/m', 'b1');
  t.equal(r.target.bundleId, 'b1');
  t.equal(r.previous?.bundleId, 'b3', 'the previous one is the one current before the rollback');
  t.equal(r.outcome.status, 'rolled-back');
  t.same(store.rollbacks, ['test/m@b1', 'test/m@b3']);
  t.equal(store.current(), 'b3');
  t.equal(runtime.serving(), 'b3');
});

t.test('refusals touch nothing: another bundle current, a files bundle, a container airlock did not make', async (t) => {
  const { runtime, ctx } = await setup(t, [deployment('b2'), deployment('b1')]);
  await t.rejects(deployCurrent(ctx, 'test/m', {}, 'f'.repeat(64)), { code: 'NO_SUCH_DEPLOYMENT' }, 'not the bundle just installed');
  await t.rejects(deployCurrent(ctx, 'other/model'), { code: 'NO_SUCH_DEPLOYMENT' });
  const files = await setup(t, [deployment('f1', { kind: 'files', imageArchives: [] })]);
  await t.rejects(deployCurrent(files.ctx, 'test/m'), { code: 'NOT_DEPLOYABLE' });
  runtime.addForeign('airlock-test-m');
  await t.rejects(deployCurrent(ctx, 'test/m'), { code: 'CONFLICT' });
  t.same(
    runtime.calls.filter((c) => c.startsWith('create')),
    [],
    'nothing was created',
  );
});

t.test('a credential in the settings is refused before the serving container is touched', async (t) => {
  const { runtime, ctx } = await setup(t, [deployment('b2'), deployment('b1')]);
  runtime.good.add('b2');
  await deployCurrent(ctx, 'test/m');
  const before = [...runtime.containers.keys()];
  await t.rejects(deployCurrent({ ...ctx, settings: { ...ctx.settings, env: { NGC_API_KEY: 'nvapi-x' } } }, 'test/m'), { code: 'SECRET_IN_CONFIG' });
  t.same([...runtime.containers.keys()], before, 'the same container still serves');
});

t.test('stop removes the model container; a second stop finds nothing', async (t) => {
  const { runtime, ctx } = await setup(t, [deployment('b1')]);
  runtime.good.add('b1');
  await deployCurrent(ctx, 'test/m');
  t.equal(await stopModel(runtime, 'test/m'), true);
  t.equal(await stopModel(runtime, 'test/m'), false);
});
