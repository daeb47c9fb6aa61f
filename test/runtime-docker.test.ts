// The deploy policy (src/ops/deploy.ts) over the Docker adapter, against a real Docker Engine and the fake NIM
// image: images by ID, replace with health checks, fail-fast on a crash, rollback to the previous deployment
// when the new one never gets ready.
import t from 'tap';
import { execFile } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { modelContainer, replaceModel, stopModel, type DeployPhase } from '../src/ops/deploy.js';
import { defaultDeploySettings, type DeploySettings } from '../src/runtime/config.js';
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import type { DeploymentTarget } from '../src/runtime/runtime.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import {
  docker,
  ensureFakeNimImage,
  FAKE_NIM_DIR,
  fakeNimProfiles,
  freePort,
  makeNimCache,
  removeContainers,
  requireDocker,
  saveImage,
  uniqueModelName,
  type FakeNimImage,
} from './helpers/docker.js';

const run = promisify(execFile);

if (await requireDocker(t)) {
  const image = await ensureFakeNimImage();
  const [profile] = await fakeNimProfiles();
  if (!profile) throw new Error('fake NIM lists no profile');

  const engine = new DockerRuntime(docker, { stopTimeoutSec: 5 });
  /** The deploy use case with these settings, and the engine's view of a model's container. */
  const deployWith = (settings: DeploySettings) => {
    const ctx = {
      runtime: engine,
      settings,
      deployments: { list: async () => [], rollback: async () => Promise.reject(new Error('not used here')) },
    };
    return {
      replace: (target: DeploymentTarget, previous?: DeploymentTarget, hooks?: { onState?: (s: DeployPhase) => void }) =>
        replaceModel(ctx, target, previous, hooks),
      inspect: async (name: string) => {
        const c = await modelContainer(engine, name);
        return c && { ...c, containerId: c.id };
      },
      stop: (name: string) => stopModel(engine, name),
      ensureImage: engine.ensureImage.bind(engine),
    };
  };

  const config = async (over: Partial<DeploySettings> = {}): Promise<DeploySettings> => ({
    ...defaultDeploySettings,
    gpus: 'none',
    publishPort: await freePort(),
    pollIntervalMs: 250,
    readyTimeoutMs: 30_000,
    env: {},
    ...over,
  });

  /** A nim-cache deployment in a test dir; `marker` makes the fake NIM misbehave. */
  const cacheTarget = async (dir: string, name: string, bundleId: string, marker?: string): Promise<DeploymentTarget> => {
    await makeNimCache(dir, profile.id);
    if (marker) await writeFile(path.join(dir, marker), '');
    return {
      name,
      bundleId,
      manifestDigest: bundleId.padEnd(64, '0').slice(0, 64),
      path: dir,
      kind: 'nim-cache',
      hints: { profiles: [{ id: profile.id, name: profile.name }], servedModelName: `${name}-${bundleId}` },
      image: { ref: image.ref, id: image.id },
    };
  };

  const models = (port: number) => getJson(`http://127.0.0.1:${port}/v1/models`);

  t.test('ensureImage: reuse by ID, load an archive, refuse an archive holding another image', async (t) => {
    const runtime = deployWith(await config());
    t.strictSame(await runtime.ensureImage({ ref: image.ref, id: image.id }), { loaded: false }, 'present by ID: not loaded again');

    // A private image (unique ID) saved to an archive, then removed from the engine.
    const own = await buildImage(`airlock/runtime-test:${process.pid}-load`);
    const archive = path.join(t.testdir(), 'image.tar');
    await saveImage(own.ref, archive);
    await docker.getImage(own.id).remove({ force: true });
    t.teardown(() =>
      docker
        .getImage(own.id)
        .remove({ force: true })
        .catch(() => undefined),
    );
    t.strictSame(await runtime.ensureImage({ ref: own.ref, id: own.id, archivePath: archive }), { loaded: true }, 'absent: loaded from the archive');
    t.equal((await docker.getImage(own.id).inspect()).Id, own.id);

    const elsewhere = 'sha256:' + '0f'.repeat(32);
    await t.rejects(
      runtime.ensureImage({ ref: own.ref, id: elsewhere, archivePath: archive }),
      { code: 'IMAGE_MISMATCH' },
      'the archive holds another ID',
    );
    await t.rejects(runtime.ensureImage({ ref: own.ref, id: elsewhere }), { code: 'IMAGE_MISSING' }, 'a local tag with another ID is not used');
    await t.rejects(runtime.ensureImage({ ref: own.ref, id: elsewhere, archivePath: path.join(t.testdir(), 'nope.tar') }), { code: 'IMAGE_MISSING' });
  });

  t.test('replace: ready, served through the published port, rolled back when the new one never gets ready', async (t) => {
    const name = uniqueModelName('rt');
    t.teardown(() => removeContainers(`airlock.model=${name}`));
    const cfg = await config({ readyTimeoutMs: 8000 });
    const runtime = deployWith(cfg);
    const root = t.testdir();

    // A tag that points at another image must not be what runs: the spec uses the manifest's ID.
    const decoy = await buildImage(`airlock/runtime-test:${process.pid}-decoy`);
    t.teardown(() =>
      docker
        .getImage(decoy.id)
        .remove({ force: true })
        .catch(() => undefined),
    );
    const good = await cacheTarget(path.join(root, 'good'), name, 'b1');
    good.image = { ref: decoy.ref, id: image.id };

    const states: DeployPhase[] = [];
    const first = await runtime.replace(good, undefined, { onState: (s) => states.push(s) });
    t.equal(first.status, 'ready', `first deployment ready (${first.message ?? ''} ${first.logs ?? ''})`);
    t.strictSame(states, ['starting', 'ready']);
    t.equal(first.health?.status, 200);
    const listed = await models(cfg.publishPort);
    t.equal(listed.status, 200);
    t.equal((listed.body as { data: Array<{ id: string }> }).data[0]?.id, `${name}-b1`, '/v1/models names the served model');

    const state = await runtime.inspect(name);
    t.equal(state?.running, true);
    t.equal(state?.bundleId, 'b1');
    t.equal(state?.image, image.id, 'runs the manifest ID, not what the tag points at');
    const info = await docker.getContainer(first.containerId ?? '').inspect();
    t.equal(info.HostConfig.Mounts?.[0]?.ReadOnly, true, 'the cache is mounted read-only');
    t.equal(info.Config.User, '1000');
    t.notOk(info.Config.Env.some((e) => e.startsWith('NGC_API_KEY=')));

    // A refused deployment (credential in config) leaves the serving container alone.
    const leaky = deployWith({ ...cfg, env: { NGC_API_KEY: 'nvapi-x' } });
    await t.rejects(leaky.replace(good, good), { code: 'SECRET_IN_CONFIG' });
    t.equal((await runtime.inspect(name))?.containerId, first.containerId, 'still the same container');

    // The next bundle never becomes ready: stopped, the previous one restarted and serving again.
    const bad = await cacheTarget(path.join(root, 'bad'), name, 'b2', 'airlock-fake-nim-not-ready');
    const states2: DeployPhase[] = [];
    const second = await runtime.replace(bad, good, { onState: (s) => states2.push(s) });
    t.equal(second.status, 'rolled-back');
    t.equal(second.code, 'ROLLED_BACK');
    t.equal(second.health?.status, 503, 'the last answer of the failed container');
    t.equal(second.previous?.status, 'ready', 'the previous deployment is ready again');
    t.strictSame(states2, ['starting', 'rolled-back']);
    t.equal((await runtime.inspect(name))?.bundleId, 'b1');
    const again = await models(cfg.publishPort);
    t.equal((again.body as { data: Array<{ id: string }> }).data[0]?.id, `${name}-b1`, 'the old model serves again');
    const all = await docker.listContainers({ all: true, filters: { label: [`airlock.model=${name}`] } });
    t.equal(all.length, 1, 'the failed container was removed');

    t.equal(await runtime.stop(name), true);
    t.equal(await runtime.inspect(name), undefined);
    t.equal(await runtime.stop(name), false, 'nothing left to stop');
  });

  t.test('a container that crashes fails fast (CONTAINER_FAILED, not a timeout) and keeps its logs', async (t) => {
    const name = uniqueModelName('crash');
    t.teardown(() => removeContainers(`airlock.model=${name}`));
    const runtime = deployWith(await config({ readyTimeoutMs: 120_000 }));
    const target = await cacheTarget(t.testdir(), name, 'c1', 'airlock-fake-nim-crash');
    const states: DeployPhase[] = [];
    const outcome = await runtime.replace(target, undefined, { onState: (s) => states.push(s) });
    t.equal(outcome.status, 'failed');
    t.equal(outcome.code, 'CONTAINER_FAILED');
    t.match(outcome.logs ?? '', /model load failed/);
    t.strictSame(states, ['starting', 'failed']);
    t.equal(await runtime.inspect(name), undefined, 'the crashed container is removed');
  });

  t.test('model-store deployment: /model-repo read-only, NIM_MODEL_PATH', async (t) => {
    const name = uniqueModelName('store');
    t.teardown(() => removeContainers(`airlock.model=${name}`));
    const cfg = await config();
    const runtime = deployWith(cfg);
    const dir = t.testdir();
    await cp(path.join(PACKAGE_ROOT, 'fixtures', 'model-store'), dir, { recursive: true });
    const target: DeploymentTarget = {
      name,
      bundleId: 's1',
      manifestDigest: 'e'.repeat(64),
      path: dir,
      kind: 'model-store',
      hints: { profiles: [] },
      image: { ref: image.ref, id: image.id },
    };
    const outcome = await runtime.replace(target);
    t.equal(outcome.status, 'ready', outcome.message ?? '');
    t.equal(((await models(cfg.publishPort)).body as { data: Array<{ id: string }> }).data[0]?.id, name, 'served under the bundle name');
  });

  t.test('a remote model path without a cached runtime manifest is refused before anything starts', async (t) => {
    const name = uniqueModelName('remote');
    t.teardown(() => removeContainers(`airlock.model=${name}`));
    const runtime = deployWith(await config());
    const target = await cacheTarget(t.testdir(), name, 'r1');
    target.hints.modelPath = 'ngc://nim/meta/llama-3.1-8b-instruct:1.3.3';
    target.hints.profiles = [];
    await t.rejects(runtime.replace(target), { code: 'REMOTE_MODEL_PATH' });
    t.equal(await runtime.inspect(name), undefined);
    await writeFile(path.join(target.path, 'nim_runtime_manifest.yaml'), 'model: ngc://nim/meta/llama-3.1-8b-instruct:1.3.3\n');
    const outcome = await runtime.replace(target);
    t.equal(outcome.status, 'ready', 'with the runtime manifest cached it serves offline');
  });

  t.test('an unreachable engine is DOCKER_UNREACHABLE', async (t) => {
    const runtime = DockerRuntime.fromEnv({ DOCKER_HOST: `unix://${path.join(t.testdir(), 'no.sock')}` });
    await t.rejects(runtime.ping(), { code: 'DOCKER_UNREACHABLE' });
    await t.rejects(runtime.inspect('x'), { code: 'DOCKER_UNREACHABLE' });
    await t.rejects(modelContainer(runtime, 'x'), { code: 'DOCKER_UNREACHABLE' });
    t.match(await runtime.describe(), { reachable: false });
  });
}

/** A fresh image with its own ID (docker import stamps the time), from the fake NIM build script. */
async function buildImage(ref: string): Promise<FakeNimImage> {
  const { stdout } = await run(path.join(FAKE_NIM_DIR, 'build'), [ref], { env: process.env });
  return { ref, id: stdout.trim().split('\n').pop() ?? '' };
}

function getJson(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (err) {
            reject(err as Error);
          }
        });
      })
      .on('error', reject);
  });
}
