// The NIM container per bundle kind, exactly as NVIDIA's air-gap guide runs it; pure, no Docker needed.
import t from 'tap';
import { buildContainerSpec as neutralSpec, containerName, type SpecInputs } from '../src/runtime/container-spec.js';
import { parseByteSize } from '../src/util/byte-size.js';
import { defaultDeploySettings, resolveRuntimeConfig, type DeploySettings } from '../src/runtime/config.js';
import { deviceRequests, dockerCreateOptions } from '../src/runtime/docker/docker-options.js';
import { dockerOptionsFromEnv } from '../src/runtime/docker/endpoint.js';
import { planFetch as neutralPlan } from '../src/runtime/fetch-plan.js';
import type { DeployableKind } from '../src/format/manifest.js';
import type { DeploymentTarget, RuntimeHints } from '../src/runtime/runtime.js';

// What the Docker Engine receives: the runtime-neutral spec, mapped by the Docker adapter.
const buildContainerSpec = (t: DeploymentTarget, c: DeploySettings, i: SpecInputs) => dockerCreateOptions(neutralSpec(t, c, i));
const planFetch = (...args: Parameters<typeof neutralPlan>) =>
  neutralPlan(...args).map((s) => ({ title: s.title, spec: dockerCreateOptions(s.spec) }));

const PROFILE = '1851d720e164dd4e27016ef71810883bb5b441f4ad6dcd318c1517e4415191a4';
const OTHER = '16e9ea9484a2068aa4201d26b2d4bbdb2da9ac73afc2f427bea9871a77699e70';
const IMAGE_ID = 'sha256:' + 'ab'.repeat(32);

function target(over: Partial<RuntimeHints> & { kind?: DeployableKind } = {}): DeploymentTarget {
  const { kind = 'nim-cache', ...hints } = over;
  return {
    name: 'meta/llama-3.1-8b-instruct',
    bundleId: 'b-20260101-1',
    manifestDigest: 'cd'.repeat(32),
    path: '/var/lib/airlock/store/deployments/abc',
    kind,
    hints: { profiles: [{ id: PROFILE, name: 'tensorrt_llm-h100-fp8-tp1-pp1-throughput' }], ...hints },
    image: { ref: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', id: IMAGE_ID },
  };
}

function config(over: Partial<DeploySettings> = {}): DeploySettings {
  return { ...defaultDeploySettings, env: {}, ...over };
}

const noManifest = { hasRuntimeManifest: false };

t.test('nim-cache: the guide\'s "Use the Offline Cache" line, field for field', async (t) => {
  const spec = buildContainerSpec(target(), config(), noManifest);
  t.strictSame(spec, {
    name: 'airlock-meta-llama-3.1-8b-instruct',
    Image: IMAGE_ID,
    Env: ['NIM_SERVED_MODEL_NAME=meta/llama-3.1-8b-instruct', `NIM_MODEL_PROFILE=${PROFILE}`],
    User: '1000',
    ExposedPorts: { '8000/tcp': {} },
    Labels: {
      'airlock.managed': 'true',
      'airlock.model': 'meta/llama-3.1-8b-instruct',
      'airlock.bundle-id': 'b-20260101-1',
      'airlock.manifest-digest': 'cd'.repeat(32),
      'airlock.image-ref': 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3',
    },
    HostConfig: {
      Mounts: [{ Type: 'bind', Source: '/var/lib/airlock/store/deployments/abc', Target: '/opt/nim/.cache', ReadOnly: true }],
      PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000' }] },
      ShmSize: 16 * 1024 ** 3,
      RestartPolicy: { Name: 'unless-stopped' },
      DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }],
    },
  });
});

t.test("the neutral spec speaks no engine's vocabulary; the Docker adapter maps it", async (t) => {
  const spec = neutralSpec(target(), config(), noManifest);
  t.strictSame(spec.mounts, [{ source: '/var/lib/airlock/store/deployments/abc', target: '/opt/nim/.cache', readOnly: true }]);
  t.strictSame(spec.ports, [{ containerPort: 8000, hostIp: '127.0.0.1', hostPort: 8000 }]);
  t.equal(spec.gpus, 'all');
  t.equal(spec.restart, 'unless-stopped');
  t.equal(spec.shmBytes, 16 * 1024 ** 3);
});

t.test('model-store and model-dir: mounted read-only at /model-repo with NIM_MODEL_PATH', async (t) => {
  for (const kind of ['model-store', 'model-dir'] as const) {
    const spec = buildContainerSpec(target({ kind, profiles: [], servedModelName: 'my-model' }), config(), noManifest);
    t.strictSame(
      spec.HostConfig?.Mounts,
      [{ Type: 'bind', Source: '/var/lib/airlock/store/deployments/abc', Target: '/model-repo', ReadOnly: true }],
      kind,
    );
    t.strictSame(spec.Env, ['NIM_SERVED_MODEL_NAME=my-model', 'NIM_MODEL_PATH=/model-repo'], kind);
  }
});

t.test('GPU device requests: all, a list of ids, none', async (t) => {
  t.strictSame(deviceRequests('all'), [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
  t.strictSame(deviceRequests(['0', 'GPU-3f1c']), [{ Driver: 'nvidia', DeviceIDs: ['0', 'GPU-3f1c'], Capabilities: [['gpu']] }]);
  t.equal(deviceRequests('none'), undefined);
  const none = buildContainerSpec(target(), config({ gpus: 'none' }), noManifest);
  t.notOk('DeviceRequests' in (none.HostConfig ?? {}), 'gpus none: no device request at all');
  const listed = buildContainerSpec(target(), config({ gpus: ['1', '3'] }), noManifest);
  t.strictSame(listed.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: ['1', '3'], Capabilities: [['gpu']] }]);
});

t.test('configured values reach the spec: name, port, host, shm, user, restart, extra env', async (t) => {
  const spec = buildContainerSpec(
    target({ servedModelName: 'from-bundle' }),
    config({
      servedModelName: 'from-config',
      publishHost: '0.0.0.0',
      publishPort: 18000,
      shmSize: '512m',
      user: '1000:2000',
      restartPolicy: 'no',
      env: { NIM_LOG_LEVEL: 'DEBUG' },
    }),
    noManifest,
  );
  t.equal(spec.Env?.[0], 'NIM_SERVED_MODEL_NAME=from-config', 'config wins over the bundle');
  t.ok(spec.Env?.includes('NIM_LOG_LEVEL=DEBUG'));
  t.strictSame(spec.HostConfig?.PortBindings, { '8000/tcp': [{ HostIp: '0.0.0.0', HostPort: '18000' }] });
  t.equal(spec.HostConfig?.ShmSize, 512 * 1024 ** 2);
  t.equal(spec.User, '1000:2000');
  t.strictSame(spec.HostConfig?.RestartPolicy, { Name: 'no' });
  const bundleName = buildContainerSpec(target({ servedModelName: 'from-bundle' }), config(), noManifest);
  t.equal(bundleName.Env?.[0], 'NIM_SERVED_MODEL_NAME=from-bundle');
});

t.test('the image is referenced by ID, never by its tag', async (t) => {
  t.equal(buildContainerSpec(target(), config(), noManifest).Image, IMAGE_ID);
});

t.test('container names are one per model, slugged for Docker', async (t) => {
  t.equal(containerName('meta/llama-3.1-8b-instruct'), 'airlock-meta-llama-3.1-8b-instruct');
  t.equal(containerName('My Model!'), 'airlock-my-model');
  t.equal(containerName('///'), 'airlock-model');
});

t.test('shared memory sizes use binary units like docker --shm-size', async (t) => {
  t.equal(parseByteSize('16g'), 17179869184);
  t.equal(parseByteSize('16GB'), 17179869184);
  t.equal(parseByteSize('16GiB'), 17179869184);
  t.equal(parseByteSize('1.5g'), 1610612736);
  t.equal(parseByteSize('64m'), 67108864);
  t.equal(parseByteSize('4096'), 4096);
  for (const bad of ['', 'lots', '-1g', '16x', '0']) t.throws(() => parseByteSize(bad), { code: 'CONFIG_INVALID' }, bad);
});

t.test('profiles: the only one, the configured one (id or name), else refused', async (t) => {
  const two = target({
    profiles: [
      { id: PROFILE, name: 'trt' },
      { id: OTHER, name: 'vllm-bf16-tp1-pp1' },
    ],
  });
  t.throws(() => buildContainerSpec(two, config(), noManifest), { code: 'CONFIG_INVALID' }, 'several profiles and no choice');
  t.ok(buildContainerSpec(two, config({ profile: 'vllm-bf16-tp1-pp1' }), noManifest).Env?.includes(`NIM_MODEL_PROFILE=${OTHER}`), 'by name');
  t.ok(buildContainerSpec(two, config({ profile: PROFILE }), noManifest).Env?.includes(`NIM_MODEL_PROFILE=${PROFILE}`), 'by id');
  t.throws(() => buildContainerSpec(two, config({ profile: 'f'.repeat(64) }), noManifest), { code: 'CONFIG_INVALID' }, 'not in the bundle');
  t.throws(() => buildContainerSpec(target({ profiles: [] }), config(), noManifest), { code: 'CONFIG_INVALID' }, 'a cache with no profile');
});

t.test('remote NIM_MODEL_PATH: only from a cache holding nim_runtime_manifest.yaml', async (t) => {
  const remote = target({ modelPath: 'ngc://org/team/model:tag', profiles: [] });
  t.throws(() => buildContainerSpec(remote, config(), noManifest), { code: 'REMOTE_MODEL_PATH' }, 'no runtime manifest: NIM would use the network');
  const spec = buildContainerSpec(remote, config(), { hasRuntimeManifest: true });
  t.strictSame(spec.Env, ['NIM_SERVED_MODEL_NAME=meta/llama-3.1-8b-instruct', 'NIM_MODEL_PATH=ngc://org/team/model:tag']);
  t.equal(spec.HostConfig?.Mounts?.[0]?.Target, '/opt/nim/.cache');
  const fromConfig = buildContainerSpec(target(), config({ modelPath: 'hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0' }), { hasRuntimeManifest: true });
  t.ok(fromConfig.Env?.includes('NIM_MODEL_PATH=hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0'), 'config.modelPath counts too');
  t.throws(() => buildContainerSpec(target({ kind: 'model-store', modelPath: 's3://bucket/model' }), config(), { hasRuntimeManifest: true }), {
    code: 'REMOTE_MODEL_PATH',
  });
  t.throws(
    () => buildContainerSpec(target({ modelPath: '/models/llama' }), config(), noManifest),
    { code: 'CONFIG_INVALID' },
    'a local path for a cache',
  );
});

t.test('credentials are refused wherever they appear, and never reach the container', async (t) => {
  const secrets: Record<string, string>[] = [
    { NGC_API_KEY: 'x' },
    { HF_TOKEN: 'x' },
    { hf_token: 'x' },
    { SOMETHING: 'nvapi-abcdef' },
    { TOKEN: 'hf_abcdefghijklmnopqrstu' },
  ];
  for (const env of secrets) {
    t.throws(() => buildContainerSpec(target(), config({ env }), noManifest), { code: 'SECRET_IN_CONFIG' }, JSON.stringify(env));
    t.throws(() => resolveRuntimeConfig({ kind: 'docker', env }), { code: 'SECRET_IN_CONFIG' }, `config ${JSON.stringify(env)}`);
  }
  t.throws(() => resolveRuntimeConfig({ kind: 'docker', NGC_API_KEY: 'x' }), { code: 'SECRET_IN_CONFIG' }, 'as a top-level key');
  for (const kind of ['nim-cache', 'model-store', 'model-dir'] as const) {
    const env = buildContainerSpec(target({ kind }), config({ env: { NIM_LOG_LEVEL: 'INFO' } }), noManifest).Env ?? [];
    t.notOk(
      env.some((e) => /^(NGC_API_KEY|HF_TOKEN)=/.test(e)),
      kind,
    );
  }
});

t.test('runtime config: defaults merged, schema enforced, reserved variables refused', async (t) => {
  const c = resolveRuntimeConfig({ kind: 'docker', gpus: ['0', '1'], publishPort: 18000 });
  if (c.kind !== 'docker') throw new Error('kind docker expected');
  t.strictSame(c.gpus, ['0', '1']);
  t.equal(c.publishPort, 18000);
  t.equal(c.shmSize, '16g');
  t.equal(c.readyTimeoutMs, 1_800_000);
  t.equal(c.user, '1000');
  t.strictSame(resolveRuntimeConfig({ kind: 'none' }).kind, 'none');
  for (const bad of [
    { kind: 'docker', gpu: 'all' },
    { kind: 'podman' },
    { kind: 'none', gpus: 'all' },
    { kind: 'docker', publishPort: 0 },
    { kind: 'docker', gpus: [] },
    { kind: 'docker', gpus: 'some' },
    { kind: 'docker', user: 'nim' },
    { kind: 'docker', shmSize: 'big' },
    { kind: 'docker', publishHost: 'localhost' },
    { kind: 'docker', modelPath: '/local/path' },
    { kind: 'docker', env: { NIM_MODEL_PROFILE: 'x' } },
    { kind: 'docker', env: { 'BAD NAME': 'x' } },
    [],
  ]) {
    t.throws(() => resolveRuntimeConfig(bad), { code: 'CONFIG_INVALID' }, JSON.stringify(bad));
  }
});

t.test('the Docker endpoint is read from DOCKER_HOST like the docker CLI', async (t) => {
  t.strictSame(dockerOptionsFromEnv({}), { socketPath: '/var/run/docker.sock' });
  t.strictSame(dockerOptionsFromEnv({ DOCKER_HOST: 'unix:///tmp/d.sock' }), { socketPath: '/tmp/d.sock' });
  t.strictSame(dockerOptionsFromEnv({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }), { protocol: 'http', host: '10.0.0.5', port: '2375' });
  t.strictSame(dockerOptionsFromEnv({ DOCKER_HOST: 'tcp://dockerhost' }), { protocol: 'http', host: 'dockerhost', port: '2375' });
  t.strictSame(dockerOptionsFromEnv({ DOCKER_HOST: 'ssh://ops@gpu1' }), { protocol: 'ssh', host: 'gpu1', port: 22, username: 'ops' });
  t.throws(() => dockerOptionsFromEnv({ DOCKER_HOST: 'ftp://x' }), { code: 'CONFIG_INVALID' });
  t.throws(() => dockerOptionsFromEnv({ DOCKER_HOST: 'tcp://x:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent' }), {
    code: 'CONFIG_INVALID',
  });
});

t.test('fetch: the connected-side docker run lines, credentials and proxies passed, CA mounted read-only', async (t) => {
  const env = {
    NGC_API_KEY: 'nvapi-secret',
    HTTPS_PROXY: 'http://host.docker.internal:8888',
    no_proxy: 'localhost',
    PATH: '/usr/bin',
  };
  const steps = planFetch(
    { image: 'nim:1', mode: { profiles: [PROFILE] }, cacheDir: '/c', modelStoreDir: '/m', caFile: '/ca.pem', gpus: 'all', user: '1001:1001' },
    env,
  );
  t.strictSame(
    steps.map((s) => s.title),
    [`download-to-cache -p ${PROFILE}`, `create-model-store -p ${PROFILE} -m /model-repo`],
  );
  const [download, store] = steps;
  t.strictSame(download?.spec.Env, [
    'NGC_API_KEY=nvapi-secret',
    'HTTPS_PROXY=http://host.docker.internal:8888',
    'no_proxy=localhost',
    'SSL_CERT_FILE=/opt/nim/proxy-ca.pem',
  ]);
  t.strictSame(download?.spec.HostConfig?.Mounts, [
    { Type: 'bind', Source: '/c', Target: '/opt/nim/.cache' },
    { Type: 'bind', Source: '/ca.pem', Target: '/opt/nim/proxy-ca.pem', ReadOnly: true },
  ]);
  t.strictSame(download?.spec.HostConfig?.ExtraHosts, ['host.docker.internal:host-gateway'], "the guide's proxy-on-the-host example");
  t.equal(download?.spec.User, '1001:1001');
  t.strictSame(download?.spec.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
  t.ok(store?.spec.HostConfig?.Mounts?.some((m) => m.Target === '/model-repo' && m.Source === '/m' && !m.ReadOnly));
  const list = planFetch({ image: 'nim:1', mode: { list: true }, gpus: 'none', user: '0:0' }, env);
  t.strictSame(
    list.map((s) => s.spec.Cmd),
    [['list-model-profiles']],
  );
  t.notOk(
    list[0]?.spec.Env?.some((e) => e.startsWith('NGC_API_KEY=')),
    'listing needs no credentials',
  );
  t.strictSame(planFetch({ image: 'nim:1', mode: { all: true }, cacheDir: '/c', gpus: 'none', user: '0:0' }, {})[0]?.spec.Cmd, [
    'download-to-cache',
    '--all',
  ]);
});
