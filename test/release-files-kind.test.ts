// Bundle kind `files` (airlock carrying its own release): packed, verified and installed like any bundle,
// never deployed: not by the daemon after an install, not on an API rollback, not by `airlock deploy`.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { BundleRecord } from '../src/pipeline/types.js';
import { airlock } from './helpers/cli.js';
import { auditLines, startTestDaemon } from './helpers/daemon.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';
import { scratchDir } from './helpers/scratch.js';

/** A folder shaped like release/: two artifacts and their SHA256SUMS (contents are not what is tested). */
function releaseLikeFolder(dir: string, version: string): string {
  const folder = path.join(dir, `release-${version}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, `airlock_${version}_amd64.deb`), `deb ${version}\n`);
  writeFileSync(path.join(folder, `airlock-${version}-linux-x64.tar.gz`), `tarball ${version}\n`);
  writeFileSync(path.join(folder, 'SHA256SUMS'), `sums ${version}\n`);
  return folder;
}

const settled = (name: string, sequence?: number) => (bs: BundleRecord[]) =>
  bs.find(
    (b) => b.name === name && (sequence === undefined || b.sequence === sequence) && ['installed', 'ready', 'rejected', 'failed'].includes(b.state),
  );

t.test('a files bundle packs, verifies and installs; airlock deploy refuses it', async (t) => {
  const dir = t.testdir();
  const key = makeKey(dir, 'release');
  const trust = path.join(dir, 'allowed_signers');
  writeAllowedSigners(trust, [{ principals: 'release@example.org', key }]);
  const packed = await packFixture(t, {
    source: releaseLikeFolder(dir, '0.2.0'),
    kind: 'files',
    name: 'airlock/release',
    signKeys: [key.privatePath],
  });

  const verified = await airlock(['verify', packed.location, '--trust', trust]);
  t.equal(verified.exitCode, 0, verified.stderr);
  const store = path.join(dir, 'store');
  const installed = await airlock(['install', packed.location, '--store', store, '--trust', trust, '--json']);
  t.equal(installed.exitCode, 0, installed.stderr);
  const report = JSON.parse(installed.stdout) as { path: string };
  const listed = await airlock(['deployments', '--store', store, '--json']);
  t.match(JSON.parse(listed.stdout), { models: [{ name: 'airlock/release', current: { kind: 'files', path: report.path } }] });

  const dockerConfig = path.join(path.dirname(store), 'docker-config.json');
  writeFileSync(dockerConfig, JSON.stringify({ store, trust: { allowedSigners: '/dev/null' }, runtime: { kind: 'docker' } }));
  const deploy = await airlock(['deploy', 'airlock/release', '--config', dockerConfig], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  t.equal(deploy.errorCode, 'NOT_DEPLOYABLE');
  t.equal(deploy.exitCode, 1);
});

t.test('--kind files refuses what only a container would use', async (t) => {
  const dir = t.testdir();
  const source = releaseLikeFolder(dir, '0.2.0');
  writeFileSync(path.join(dir, 'image.tar'), 'not an image');
  for (const extra of [
    ['--image-archive', path.join(dir, 'image.tar')],
    ['--profile', 'a'.repeat(64)],
    ['--served-model-name', 'x'],
  ]) {
    const res = await airlock(['pack', source, '--out', path.join(dir, 'out'), '--name', 'airlock/release', '--kind', 'files', ...extra]);
    t.equal(res.errorCode, 'USAGE', extra[0] ?? '');
  }
});

t.test('the daemon installs a files bundle and never deploys it, while a model bundle beside it is deployed', async (t) => {
  const work = scratchDir(t);
  const key = makeKey(work, 'release');
  const trust = path.join(work, 'allowed_signers');
  writeAllowedSigners(trust, [{ principals: 'release@example.org', key }]);
  // A Docker runtime whose engine is unreachable: any deployment attempt shows as a failed deployment.
  const d = await startTestDaemon(t, {
    dir: path.join(work, 'daemon'),
    config: { trust: { allowedSigners: trust, threshold: 1 }, runtime: { kind: 'docker', gpus: 'none' } },
    env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
  });

  const first = await packFixture(t, {
    source: releaseLikeFolder(work, '0.2.0'),
    kind: 'files',
    name: 'airlock/release',
    sequence: 1,
    signKeys: [key.privatePath],
  });
  cpSync(first.location, path.join(d.drop, 'release-0.2.0'), { recursive: true });
  const rec = await d.waitFor(settled('airlock/release', 1), { what: 'the files bundle settled' });
  t.equal(rec.state, 'installed', JSON.stringify(rec.error));
  t.equal(rec.kind, 'files');
  t.notOk(rec.deployment, 'no deployment was attempted');

  const model = await packFixture(t, { source: fixturePath('model-dir'), kind: 'model-dir', name: 'test/control', signKeys: [key.privatePath] });
  cpSync(model.location, path.join(d.drop, 'control'), { recursive: true });
  const control = await d.waitFor(settled('test/control'), { what: 'the model bundle settled' });
  t.match(control, { state: 'failed', deployment: { state: 'failed' } }, 'the deployer is active: a model bundle is deployed (and fails here)');

  const second = await packFixture(t, {
    source: releaseLikeFolder(work, '0.3.0'),
    kind: 'files',
    name: 'airlock/release',
    sequence: 2,
    signKeys: [key.privatePath],
  });
  cpSync(second.location, path.join(d.drop, 'release-0.3.0'), { recursive: true });
  t.equal((await d.waitFor(settled('airlock/release', 2), { what: 'the second files bundle settled' })).state, 'installed');

  const back = await d.api<{ deployment: { bundleId: string; kind: string }; runtime?: unknown }>('/v1/deployments/airlock%2Frelease/rollback', {
    method: 'POST',
    token: d.token,
    body: {},
  });
  t.equal(back.status, 200, JSON.stringify(back.body));
  t.match(back.body, { deployment: { bundleId: first.id, kind: 'files' } }, 'the store rolls back');
  t.notOk(back.body.runtime, 'and nothing is started');

  const releaseEvents = auditLines(d)
    .filter((l) => l['name'] === 'airlock/release')
    .map((l) => l.audit);
  t.notOk(
    releaseEvents.some((e) => e === 'deployed' || e === 'deploy-failed'),
    `no deploy events for the files bundle: ${releaseEvents.join(', ')}`,
  );
  t.ok(auditLines(d, 'deploy-failed').some((l) => l['name'] === 'test/control'));
});
