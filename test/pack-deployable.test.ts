// pack refuses a bundle that could never deploy (a nim-cache without --profile, a SOURCE that is plainly another
// kind), before it reads a byte, unless told --allow-undeployable; unknown layouts and files bundles pass.
import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deployProblems } from '../src/bundle/deployable.js';
import { lookAtSource } from '../src/bundle/source-look.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, nimCacheProfile } from './helpers/fixtures.js';

const PROFILE = nimCacheProfile().profile.id;

t.test('what each fixture looks like', async (t) => {
  t.match(await lookAtSource(fixturePath('nim-cache')), { nimCache: /^ngc\/hub\/models--nim--meta--llama/ });
  t.match(await lookAtSource(fixturePath('model-store')), { modelStore: 'trtllm_engine/' });
  t.match(await lookAtSource(fixturePath('model-dir')), { modelDir: /^config\.json and .*\.safetensors$/ });
  t.same(await lookAtSource(path.join(t.testdir(), 'absent')), {}, 'nothing to see: no evidence either way');
});

t.test('the verdict, pure', async (t) => {
  const cache = { nimCache: 'ngc/hub/models--x' };
  t.same(deployProblems('nim-cache', 1, cache), []);
  t.match(deployProblems('nim-cache', 0, cache), [{ code: 'USAGE', flag: '--profile' }]);
  t.match(deployProblems('nim-cache', 1, { modelStore: 'trtllm_engine/' }), [{ code: 'KIND_MISMATCH', message: /give --kind model-store/ }]);
  t.match(deployProblems('model-store', 0, cache), [{ code: 'KIND_MISMATCH', message: /give --kind nim-cache/ }]);
  t.same(deployProblems('model-dir', 0, {}), [], 'an unknown layout is given the benefit');
  t.same(deployProblems('model-dir', 0, { modelStore: 'trtllm_engine/' }), [], 'model-store and model-dir deploy alike');
});

t.test('through the CLI: refused with the reason and the way out, nothing written', async (t) => {
  const dir = t.testdir();
  const pack = (source: string, kind: string, extra: string[] = []) => {
    const out = path.join(dir, `${path.basename(source)}-${kind}-${extra.length}`);
    return airlock(['pack', source, '--out', out, '--name', 'test/deployable', '--kind', kind, ...extra]).then((res) => ({ res, out }));
  };
  const noProfile = await pack(fixturePath('nim-cache'), 'nim-cache');
  t.equal(noProfile.res.exitCode, 2);
  t.equal(noProfile.res.errorCode, 'USAGE');
  t.match(noProfile.res.stderr, /needs at least one --profile ID.*--allow-undeployable packs it anyway/);
  t.notOk(existsSync(noProfile.out), 'nothing written');

  const notACache = await pack(fixturePath('model-dir'), 'nim-cache', ['--profile', PROFILE]);
  t.equal(notACache.res.errorCode, 'KIND_MISMATCH');
  t.match(notACache.res.stderr, /SOURCE is not a NIM cache.*give --kind model-dir/);
  const cacheAsStore = await pack(fixturePath('nim-cache'), 'model-store');
  t.equal(cacheAsStore.res.errorCode, 'KIND_MISMATCH');
  t.match(cacheAsStore.res.stderr, /looks like a NIM cache \(ngc\/hub\/models--nim--meta--llama-3_1-8b-instruct\), not a model-store/);
  t.equal(cacheAsStore.res.exitCode, 2);

  const forced = await pack(fixturePath('nim-cache'), 'nim-cache', ['--allow-undeployable']);
  t.equal(forced.res.exitCode, 0, `--allow-undeployable packs it anyway: ${forced.res.stderr}`);
  const right = await pack(fixturePath('nim-cache'), 'nim-cache', ['--profile', PROFILE]);
  t.equal(right.res.exitCode, 0, right.res.stderr);
  const files = await pack(fixturePath('nim-cache'), 'files');
  t.equal(files.res.exitCode, 0, 'a files bundle is never deployed: nothing to refuse');
  const plain = path.join(dir, 'plain');
  mkdirSync(plain);
  writeFileSync(path.join(plain, 'weights.txt'), 'nothing NIM would recognise');
  const unknown = await pack(plain, 'model-dir');
  t.equal(unknown.res.exitCode, 0, 'an unknown layout packs');
});
