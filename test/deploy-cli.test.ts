// `airlock deploy` by hand on a real Docker Engine: pack --image (saved through the engine), install,
// deploy to ready; a newer deployment that never becomes ready rolls back (ROLLED_BACK) in the engine and the store.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';
import { ensureFakeNimImage, freePort, removeContainers, requireDocker } from './helpers/docker.js';
import { packNimBundle } from './helpers/nim-bundles.js';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';

const MODEL = `deploy/model-${process.pid}`;

t.test('usage and missing deployments need no container', async (t) => {
  const dir = t.testdir();
  const embedded = await airlock(['deploy', 'x'], { cwd: dir });
  t.equal(embedded.errorCode, 'CONFIG_INVALID', 'the embedded quick-start config runs nothing (runtime kind none)');
  t.match(embedded.stderr, /embedded quick-start config/, 'and says which config it used');
  const config = path.join(t.testdirName, 'config.json');
  await writeFile(config, JSON.stringify({ store: 'store', trust: { allowedSigners: DEMO_ALLOWED_SIGNERS }, runtime: { kind: 'docker' } }));
  const none = await airlock(['deploy', 'x', '--config', config], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  t.equal(none.errorCode, 'NO_SUCH_DEPLOYMENT', 'the config names the store; nothing installed there');
  const fromEnv = await airlock(['deploy', 'x'], { env: { AIRLOCK_CONFIG: config, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  t.equal(fromEnv.errorCode, 'NO_SUCH_DEPLOYMENT', 'AIRLOCK_CONFIG is followed too');
  await writeFile(
    config,
    JSON.stringify({ store: 'store', trust: { allowedSigners: DEMO_ALLOWED_SIGNERS }, runtime: { kind: 'docker', env: { NGC_API_KEY: 'nvapi-x' } } }),
  );
  const secret = await airlock(['deploy', 'x', '--store', t.testdirName, '--config', config]);
  t.equal(secret.errorCode, 'SECRET_IN_CONFIG');
});

t.test('deploy, then a bad deployment rolls back', async (t) => {
  if (!(await requireDocker(t))) return;
  t.teardown(() => removeContainers(`airlock.model=${MODEL}`));
  const image = await ensureFakeNimImage();
  const dir = t.testdir();
  const store = path.join(dir, 'store');
  const good = await packNimBundle(t, { name: MODEL, sequence: 1, servedModelName: 'deploy-one' });
  const manifest = JSON.parse(await readFile(path.join(good.location, 'airlock.json'), 'utf8')) as { images: Array<{ ref: string; id: string }> };
  t.same(
    manifest.images.map((i) => [i.ref, i.id]),
    [[image.ref, image.id]],
    'pack --image records the ref and the engine image ID',
  );
  const bad = await packNimBundle(t, { name: MODEL, sequence: 2, servedModelName: 'deploy-two', notReady: true });
  for (const b of [good, bad]) t.equal((await airlock(['install', b.location, '--store', store, '--trust', DEMO_ALLOWED_SIGNERS])).exitCode, 0);

  const port = await freePort();
  const config = path.join(dir, 'config.json');
  const runtime = { kind: 'docker', gpus: 'none', publishPort: port, readyTimeoutMs: 4000, pollIntervalMs: 200 };
  await writeFile(config, JSON.stringify({ store: 'store', trust: { allowedSigners: DEMO_ALLOWED_SIGNERS }, runtime }));

  // Current is the bad one (sequence 2): it fails, the first comes back, and the store follows.
  const rolled = await airlock(['deploy', MODEL, '--config', config, '--json']);
  t.equal(rolled.errorCode, 'ROLLED_BACK', rolled.stderr);
  t.equal(rolled.exitCode, 1);
  const out = JSON.parse(rolled.stdout) as { outcome: { status: string; code: string; previous: { status: string } } };
  t.same(schemaProblems('deploy-report', out), [], 'deploy --json matches schema/deploy-report.schema.json, rolled back too');
  t.match(out.outcome, { status: 'rolled-back', code: 'ROLLED_BACK', previous: { status: 'ready' } });
  const answer = await fetch(`http://127.0.0.1:${port}/v1/models`);
  t.same(
    ((await answer.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id),
    ['deploy-one'],
  );
  const listed = JSON.parse((await airlock(['deployments', '--store', store, '--json'])).stdout) as {
    models: Array<{ name: string; current: { bundleId: string } }>;
  };
  t.equal(listed.models.find((m) => m.name === MODEL)?.current.bundleId, good.id);

  // Now current is the good one: deploy (store from --store, runtime from the config) reaches ready.
  const ok = await airlock(['deploy', MODEL, '--store', store, '--config', config]);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.match(ok.stdout, /status\s+ready/);
  t.match(ok.stdout, /container [0-9a-f]{12}/);
  t.equal((await airlock(['stop', MODEL])).exitCode, 0);
  t.equal((await airlock(['stop', MODEL])).errorCode, 'NOT_FOUND');
});

t.test('pack --image of an image the engine lacks is IMAGE_MISSING', async (t) => {
  if (!(await requireDocker(t))) return;
  const res = await airlock([
    'pack',
    path.join(t.testdir()),
    '--out',
    path.join(t.testdirName, 'out', 'b'),
    '--name',
    'x/y',
    '--kind',
    'model-dir',
    '--image',
    'airlock/no-such-image:0',
  ]);
  t.equal(res.errorCode, 'IMAGE_MISSING', res.stderr);
});
