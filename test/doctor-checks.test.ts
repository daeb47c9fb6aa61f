// doctor's pure decisions and the mode-bit check for the container user.
import t from 'tap';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { doctorFailed, evaluateDoctor, formatChecks, type DoctorFacts } from '../src/doctor/checks.js';
import { canRead, parseContainerUser, treeAccess } from '../src/doctor/tree-access.js';
import { resolveRuntimeConfig } from '../src/runtime/config.js';

const docker = { endpoint: 'unix:///run/docker.sock', reachable: true, version: '27.0', runtimes: ['runc'], cdiSpecs: [] };
const facts = (extra: Partial<DoctorFacts> = {}): DoctorFacts => ({
  configSource: '/etc/airlock/config.json',
  runtime: resolveRuntimeConfig({ kind: 'docker', gpus: 'none' }),
  envSecrets: [],
  docker,
  models: [],
  store: '/var/lib/airlock',
  storeProblems: [],
  port: { host: '127.0.0.1', port: 8000, free: true },
  ...extra,
});
const line = (f: DoctorFacts, name: string) => evaluateDoctor(f).find((c) => c.name === name);

t.test('a ready host passes every line', async (t) => {
  const checks = evaluateDoctor(facts());
  t.notOk(doctorFailed(checks), formatChecks(checks));
  t.match(formatChecks(checks), /^PASS docker: reachable at unix:\/\/\/run\/docker\.sock/m);
});

t.test('gpus all without an nvidia runtime fails, naming what to install', async (t) => {
  const f = facts({ runtime: resolveRuntimeConfig({ kind: 'docker' }) });
  t.match(line(f, 'gpu-runtime'), { status: 'FAIL', message: /NVIDIA Container Toolkit/ });
  t.match(line({ ...f, docker: { ...docker, runtimes: ['runc', 'nvidia'] } }, 'gpu-runtime'), { status: 'PASS' });
  t.match(line({ ...f, docker: { ...docker, cdiSpecs: ['/etc/cdi/nvidia.yaml'] } }, 'gpu-runtime'), { status: 'PASS' });
});

t.test('credentials, an unreachable engine, a busy port, a bad store, low disk each fail', async (t) => {
  t.match(line(facts({ envSecrets: ['NGC_API_KEY'] }), 'secrets'), { status: 'FAIL', message: /NGC_API_KEY/ });
  t.match(line(facts({ configSecret: 'env.HF_TOKEN' }), 'secrets'), { status: 'FAIL', message: /HF_TOKEN/ });
  t.match(line(facts({ docker: { ...docker, reachable: false, error: 'ECONNREFUSED' } }), 'docker'), { status: 'FAIL', message: /DOCKER_HOST/ });
  t.match(line(facts({ port: { host: '127.0.0.1', port: 8000, free: false, error: 'EADDRINUSE' } }), 'port'), { status: 'FAIL' });
  t.match(line(facts({ port: { host: '127.0.0.1', port: 8000, free: false, heldBy: 'airlock-m' } }), 'port'), { status: 'PASS' });
  t.match(line(facts({ storeProblems: [{ code: 'STORE_INVALID', message: 'x: missing' }] }), 'store'), { status: 'FAIL' });
  t.match(line(facts({ disk: { path: '/s', freeBytes: 10, needBytes: 1024 } }), 'disk'), { status: 'FAIL' });
});

t.test('a remote model path needs the runtime manifest; images need the ID or the archive', async (t) => {
  const model = {
    name: 'm',
    bundleId: 'b',
    path: '/d',
    treeExists: true,
    unreadable: [],
    unreadableCount: 0,
    hasRuntimeManifest: false,
    modelPath: 'ngc://nim/x',
  };
  t.match(line(facts({ models: [model] }), 'model-path m'), { status: 'FAIL', message: /nim_runtime_manifest\.yaml/ });
  t.match(line(facts({ models: [{ ...model, hasRuntimeManifest: true }] }), 'model-path m'), { status: 'PASS' });
  const image = { ref: 'nim:1', id: 'sha256:aa', present: false, tagId: 'sha256:bb', archiveReadable: false };
  t.match(line(facts({ models: [{ ...model, image }] }), 'image m'), { status: 'FAIL', message: /sha256:bb/ });
  t.match(line(facts({ models: [{ ...model, image: { ...image, archiveReadable: true, archivePath: '/a' } }] }), 'image m'), { status: 'PASS' });
  t.match(line(facts({ models: [{ ...model, unreadable: ['x'], unreadableCount: 1 }] }), 'deployment m'), { status: 'FAIL', message: /chmod/ });
});

t.test('mode bits decide what uid 1000 can read', async (t) => {
  t.same(parseContainerUser('1000:100'), { uid: 1000, gid: 100 });
  t.equal(parseContainerUser('nim'), undefined);
  const st = (mode: number, uid = 0, gid = 0, dir = false) => ({ mode, uid, gid, isDirectory: () => dir });
  t.ok(canRead(st(0o444), { uid: 1000 }));
  t.notOk(canRead(st(0o440), { uid: 1000 }), 'group-only, not our group');
  t.ok(canRead(st(0o440, 0, 100), { uid: 1000, gid: 100 }));
  t.notOk(canRead(st(0o004, 1000), { uid: 1000 }), 'owner bits apply to the owner, not other');
  t.notOk(canRead(st(0o744, 0, 0, true), { uid: 1000 }), 'a directory needs search');
  t.ok(canRead(st(0o000), { uid: 0 }));
  const dir = t.testdir();
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'secret'), 'x');
  await chmod(path.join(dir, 'sub', 'secret'), 0o600);
  const found = await treeAccess(dir, { uid: 4242 });
  t.same(found.unreadable, ['sub/secret']);
  t.equal((await treeAccess(path.join(dir, 'none'), { uid: 4242 })).exists, false);
});
