// `airlock doctor` on this host with a real engine and a real store: PASS lines, a credential in the
// environment fails it, and gpus "all" without the NVIDIA toolkit fails naming the GPU runtime.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { airlock } from './helpers/cli.js';
import { docker, freePort, requireDocker } from './helpers/docker.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';
import { packNimBundle } from './helpers/nim-bundles.js';

if (await requireDocker(t)) {
  const dir = t.testdir();
  const store = path.join(dir, 'store');
  // A key of the host's own: doctor fails a host that trusts the demo key, whose private half is published.
  const key = makeKey(path.join(dir, 'keys'), 'release');
  const allowedSigners = writeAllowedSigners(path.join(dir, 'allowed_signers'), [{ principals: 'release@airlock.test', key }]);
  const b = await packNimBundle(t, { name: `doctor/model-${process.pid}`, sequence: 1, servedModelName: 'doctor', signKeys: [key.privatePath] });
  t.equal((await airlock(['install', b.location, '--store', store, '--trust', allowedSigners])).exitCode, 0);
  const port = await freePort();
  const configFor = async (gpus: string) => {
    const file = path.join(dir, `config-${gpus}.json`);
    await writeFile(file, JSON.stringify({ store: 'store', trust: { allowedSigners }, runtime: { kind: 'docker', gpus, publishPort: port } }));
    return file;
  };
  const clean = { NGC_API_KEY: '', HF_TOKEN: '', HUGGING_FACE_HUB_TOKEN: '', NGC_CLI_API_KEY: '' };

  t.test('docker reachable, gpus none and a consistent store: every line passes', async (t) => {
    const res = await airlock(['doctor', '--config', await configFor('none')], { env: clean });
    t.equal(res.exitCode, 0, res.stdout + res.stderr);
    for (const name of [
      'docker',
      'gpu-runtime',
      'secrets',
      `image doctor/model-${process.pid}`,
      `deployment doctor/model-${process.pid}`,
      'port',
      'disk',
      'store',
    ]) {
      t.match(res.stdout, new RegExp(`^PASS ${name.replace('/', '\\/')}: `, 'm'), name);
    }
    t.match(res.stdout, /^PASS docker: reachable at unix:\/\//m);
    t.notMatch(res.stdout, /^FAIL/m);
  });

  t.test('NGC_API_KEY in the environment fails', async (t) => {
    const res = await airlock(['doctor', '--config', await configFor('none'), '--json'], { env: { ...clean, NGC_API_KEY: 'nvapi-test' } });
    t.equal(res.exitCode, 1);
    const out = JSON.parse(res.stdout) as { ok: boolean; checks: Array<{ status: string; name: string; message: string }> };
    t.equal(out.ok, false);
    t.match(
      out.checks.find((c) => c.name === 'secrets'),
      { status: 'FAIL', message: /NGC_API_KEY/ },
    );
  });

  t.test('gpus all without an NVIDIA runtime fails naming the GPU runtime', async (t) => {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    if (info.Runtimes?.['nvidia']) {
      t.pass('this engine has the nvidia runtime', { skip: true });
      return;
    }
    const res = await airlock(['doctor', '--config', await configFor('all')], { env: { ...clean, PATH: '/usr/bin:/bin' } });
    t.equal(res.exitCode, 1);
    t.match(res.stdout, /^FAIL gpu-runtime: no NVIDIA GPU runtime/m);
  });
}
