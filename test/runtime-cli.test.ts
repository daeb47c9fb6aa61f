// `airlock fetch` and `airlock stop` end to end: the real CLI, a real Docker Engine, the fake NIM image.
import t from 'tap';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { modelContainer, replaceModel } from '../src/ops/deploy.js';
import { defaultDeploySettings } from '../src/runtime/config.js';
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';
import {
  docker,
  ensureFakeNimImage,
  fakeNimProfiles,
  freePort,
  makeNimCache,
  removeContainers,
  requireDocker,
  uniqueModelName,
} from './helpers/docker.js';

const PROXIES = {
  HTTP_PROXY: 'http://proxy.test.invalid:3128',
  HTTPS_PROXY: 'http://proxy.test.invalid:3129',
  NO_PROXY: 'localhost,127.0.0.1',
  https_proxy: 'http://proxy.test.invalid:3129',
};

t.test('usage errors need no engine', async (t) => {
  const both = await airlock(['fetch', '--image', 'x', '--all', '--list']);
  t.equal(both.errorCode, 'USAGE');
  t.equal(both.exitCode, 2);
  const store = await airlock(['fetch', '--image', 'x', '--all', '--cache', t.testdir(), '--model-store', 'm']);
  t.equal(store.errorCode, 'USAGE', '--model-store needs exactly one profile');
  const noCache = await airlock(['fetch', '--image', 'x', '--profile', 'p']);
  t.equal(noCache.errorCode, 'USAGE');
  const noEngine = await airlock(['stop', 'x'], { env: { DOCKER_HOST: `unix://${path.join(t.testdir(), 'none.sock')}` } });
  t.equal(noEngine.errorCode, 'DOCKER_UNREACHABLE');
});

if (await requireDocker(t)) {
  const image = await ensureFakeNimImage();
  const [profile] = await fakeNimProfiles();
  if (!profile) throw new Error('fake NIM lists no profile');

  t.test("fetch --list shows the image's list-model-profiles", async (t) => {
    const res = await airlock(['fetch', '--image', image.ref, '--list', '--gpus', 'none']);
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stdout, '- Compatible with system and runnable:');
    t.match(res.stdout, `  - ${profile.id} (${profile.name})`);
  });

  t.test('fetch downloads into the cache and builds a model store, with proxies, CA and credentials passed', async (t) => {
    const root = t.testdir({ 'corp-ca.pem': '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' });
    const cache = path.join(root, 'cache');
    const store = path.join(root, 'store');
    const fetchContainers = async () => (await docker.listContainers({ all: true, filters: { label: ['airlock.fetch=true'] } })).length;
    const before = await fetchContainers();
    const res = await airlock(
      [
        'fetch',
        '--image',
        image.ref,
        '--profile',
        profile.id,
        '--cache',
        cache,
        '--model-store',
        store,
        '--ca-file',
        path.join(root, 'corp-ca.pem'),
        '--gpus',
        'none',
      ],
      { env: { ...PROXIES, NGC_API_KEY: 'nvapi-test-secret', HF_TOKEN: '' } },
    );
    t.equal(res.exitCode, 0, res.stderr);
    for (const [k, v] of Object.entries(PROXIES)) t.match(res.stdout, `fake-nim: env ${k}=${v}\n`, `${k} reached the container`);
    t.match(res.stdout, 'fake-nim: env SSL_CERT_FILE=/opt/nim/proxy-ca.pem');
    t.match(res.stdout, 'fake-nim: SSL_CERT_FILE readable, first line: -----BEGIN CERTIFICATE-----', 'the CA is mounted and readable');
    t.match(res.stdout, 'fake-nim: NGC_API_KEY set');
    t.match(res.stdout, `fake-nim: running as uid ${process.getuid?.()} gid ${process.getgid?.()}`, 'runs as the caller, like -u $(id -u)');
    t.notMatch(res.stdout + res.stderr, 'nvapi-test-secret', 'the key is never printed');
    t.match(res.stderr, `airlock: running create-model-store -p ${profile.id} -m /model-repo`);

    const snapshots = path.join(cache, 'ngc/hub/models--nim--meta--llama-3_1-8b-instruct/snapshots');
    const [tag] = await readdir(snapshots);
    const snapshot = path.join(snapshots, tag ?? 'missing');
    t.ok((await lstat(path.join(snapshot, 'config.json'))).isSymbolicLink(), 'snapshot entries are symlinks');
    t.match(await readlink(path.join(snapshot, 'rank0.engine')), /^\.\.\/\.\.\/blobs\/[0-9a-f]{32}-\d+$/, 'into blobs named like NGC ETags');
    t.match(await readFile(path.join(snapshot, 'metadata.json'), 'utf8'), profile.id);
    t.equal((await stat(path.join(snapshot, 'config.json'))).uid, process.getuid?.(), 'files belong to the caller');
    t.ok((await stat(path.join(store, 'trtllm_engine', 'rank0.engine'))).isFile(), 'model store: engines in trtllm_engine/');
    t.ok((await stat(path.join(store, 'tokenizer.json'))).isFile(), 'model store: tokenizer at the top');
    t.equal(await fetchContainers(), before, 'the fetch containers were removed');
  });

  t.test('fetch with GPUs on an engine without an NVIDIA runtime says to pass --gpus none', async (t) => {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    if (info.Runtimes && 'nvidia' in info.Runtimes) {
      t.pass('this engine has an NVIDIA runtime', { skip: 'the engine has an NVIDIA runtime' });
      return;
    }
    const res = await airlock(['fetch', '--image', image.ref, '--list']);
    t.equal(res.exitCode, 2);
    t.equal(res.errorCode, 'GPU_UNAVAILABLE');
    t.match(res.stderr, /no NVIDIA runtime for --gpus all .*pass --gpus none/);
  });

  t.test('fetch --json: the report on stdout (its schema), the container output on stderr; --quiet keeps it back', async (t) => {
    const listed = await airlock(['fetch', '--image', image.ref, '--list', '--gpus', 'none', '--json']);
    t.equal(listed.exitCode, 0, listed.stderr);
    const doc = JSON.parse(listed.stdout);
    t.same(schemaProblems('fetch-report', doc), [], 'schema/fetch-report.schema.json');
    t.match(doc, { ok: true, mode: 'list', gpus: 'none', steps: [{ exitCode: 0 }] });
    t.match(doc.listed, [{ id: profile.id, name: profile.name, section: 'Compatible with system and runnable' }], 'the profiles, parsed');

    const cache = t.testdir();
    const quiet = await airlock(['fetch', '--image', image.ref, '--profile', profile.id, '--cache', cache, '--gpus', 'none', '--quiet'], {
      env: { NGC_API_KEY: 'nvapi-test-secret' },
    });
    t.equal(quiet.exitCode, 0, quiet.stderr);
    t.equal(quiet.stdout, '', '--quiet: no container output');
    t.notMatch(quiet.stderr, /airlock: running/, '--quiet: no progress lines');
    const failing = await airlock(['fetch', '--image', image.ref, '--all', '--cache', cache, '--gpus', 'none', '--quiet'], {
      env: { NGC_API_KEY: '', HF_TOKEN: '' },
    });
    t.equal(failing.errorCode, 'CONTAINER_FAILED');
    t.match(failing.stderr, 'NGC_API_KEY (or HF_TOKEN) is required', '--quiet: the kept output is shown when the step fails');
  });

  t.test('fetch: a failing download is CONTAINER_FAILED, an absent image IMAGE_MISSING', async (t) => {
    const cache = t.testdir();
    const noKey = await airlock(['fetch', '--image', image.ref, '--all', '--cache', cache, '--gpus', 'none'], {
      env: { NGC_API_KEY: '', HF_TOKEN: '' },
    });
    t.equal(noKey.exitCode, 1);
    t.equal(noKey.errorCode, 'CONTAINER_FAILED');
    t.match(noKey.stderr, 'NGC_API_KEY (or HF_TOKEN) is required', "the container's stderr reaches ours");
    const missing = await airlock(['fetch', '--image', 'airlock/not-here:0', '--all', '--cache', cache, '--gpus', 'none']);
    t.equal(missing.errorCode, 'IMAGE_MISSING');
  });

  t.test('stop removes the model container; a second stop finds nothing', async (t) => {
    const name = uniqueModelName('stop');
    t.teardown(() => removeContainers(`airlock.model=${name}`));
    const dir = t.testdir();
    await makeNimCache(dir, profile.id);
    const runtime = new DockerRuntime(docker);
    const settings = { ...defaultDeploySettings, gpus: 'none' as const, publishPort: await freePort(), pollIntervalMs: 250, env: {} };
    const ctx = { runtime, settings, deployments: { list: async () => [], rollback: async () => Promise.reject(new Error('not used here')) } };
    const outcome = await replaceModel(ctx, {
      name,
      bundleId: 'x1',
      manifestDigest: 'a'.repeat(64),
      path: dir,
      kind: 'nim-cache',
      hints: { profiles: [{ id: profile.id }] },
      image,
    });
    t.equal(outcome.status, 'ready');
    const res = await airlock(['stop', name, '--json']);
    t.equal(res.exitCode, 0, res.stderr);
    t.same(schemaProblems('stop-report', JSON.parse(res.stdout)), [], 'stop --json matches schema/stop-report.schema.json');
    t.match(JSON.parse(res.stdout), { ok: true, model: name, stopped: true });
    t.equal(await modelContainer(runtime, name), undefined);
    const again = await airlock(['stop', name]);
    t.equal(again.errorCode, 'NOT_FOUND');
  });
}
