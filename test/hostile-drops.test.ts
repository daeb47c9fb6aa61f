// Hostile drops that need more than a broken bundle to show (issue 11): files swapped for FIFOs or folders for
// symlinks between the walk and the read, a removal raced through a swapped folder, floods of failures that
// must stay capped, and size limits that can be raised on purpose.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { fileSystemSource } from '../src/bundle/fs-source.js';
import { walkPayload } from '../src/bundle/payload-walk.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { MAX_REPORTED_FAILURES } from '../src/errors.js';
import { HashPool } from '../src/hash/hash-pool.js';
import { removeDrop } from '../src/pipeline/remove-drop.js';
import { loadAllowedSigners } from '../src/trust/allowed-signers.js';
import { defaultFiles, manifestFor, writeDirBundle } from './helpers/bundle-builder.js';
import { airlock } from './helpers/cli.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

async function setup(t: Test) {
  const root = t.testdir();
  const key = makeKey(path.join(root, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(root, 'allowed_signers'), [{ principals: 'release@test.invalid', key }]);
  return { root, key, trust, signers: await loadAllowedSigners(trust) };
}

t.test('a payload file swapped for a FIFO after the walk listed it fails by itself with WRONG_TYPE, never hangs', async (t) => {
  const { root, key } = await setup(t);
  const dir = path.join(root, 'bundle');
  await writeDirBundle(dir, { signers: [key] });
  const bundle = (await fileSystemSource(dir).open()).parse();
  t.teardown(() => bundle.close());
  const weights = path.join(dir, 'payload', 'weights', 'model-00001-of-00001.safetensors');
  const entries = bundle.entries();
  let swapped = false;
  // Walk by hand: swap the file once the walk has seen it (lstat: a regular file) and before it is opened.
  for await (const e of entries) {
    if (e.path === 'payload/weights/model-00001-of-00001.safetensors') {
      t.equal(e.kind, 'file', 'the walk saw a regular file');
      await fsp.rm(weights);
      execFileSync('mkfifo', [weights]);
      swapped = true;
      await t.rejects(e.open!(), { code: 'WRONG_TYPE' }, 'the open refuses what is there now');
    }
  }
  t.ok(swapped);
});

/** Walk `dir`'s payload, running `swap` once when the walk yields the entry at `at`. */
async function walkWithSwap(dir: string, at: string, swap: () => Promise<void>) {
  const bundle = (await fileSystemSource(dir).open()).parse();
  const pool = new HashPool(1);
  let swapped = false;
  try {
    return await walkPayload(
      {
        ...bundle,
        entries: async function* () {
          for await (const e of bundle.entries()) {
            if (e.path === at && !swapped) {
              swapped = true;
              await swap();
            }
            yield e;
          }
        },
      },
      { pool },
    );
  } finally {
    await pool.close();
    await bundle.close();
  }
}

t.test('a payload folder swapped for a symlink to outside is never followed out of the bundle', async (t) => {
  const { root, key } = await setup(t);
  const dir = path.join(root, 'bundle');
  await writeDirBundle(dir, { signers: [key] });
  // A file outside with the very bytes the manifest lists: only a followed link could make it verify.
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  const weights = path.join(dir, 'payload', 'weights');
  await fsp.copyFile(path.join(weights, 'model-00001-of-00001.safetensors'), path.join(outside, 'model-00001-of-00001.safetensors'));
  const swap = (aside: string) => async () => {
    await fsp.rename(weights, path.join(root, aside));
    await fsp.symlink(outside, weights);
  };

  // Swapped after the walk saw a folder and before it opened it: the open refuses the link.
  const before = await walkWithSwap(dir, 'payload/weights', swap('aside-1'));
  t.ok(
    before.failures.items.some((f) => f.code === 'WRONG_TYPE' && f.path === 'payload/weights'),
    'the link is refused',
  );
  t.ok(
    before.failures.items.some((f) => f.code === 'MISSING_FILE'),
    'and what it would have led to is missing',
  );

  // Swapped once the walk holds the folder open: the folder it opened is read, not what the name points at now.
  await fsp.rm(weights);
  await fsp.rename(path.join(root, 'aside-1'), weights);
  const after = await walkWithSwap(dir, 'payload/weights/model-00001-of-00001.safetensors', swap('aside-2'));
  t.equal(after.failures.total, 0, 'the file read is the one inside the bundle');
  await fsp.writeFile(path.join(outside, 'model-00001-of-00001.safetensors'), 'other bytes');
  await fsp.rm(weights);
  await fsp.rename(path.join(root, 'aside-2'), weights);
  const again = await walkWithSwap(dir, 'payload/weights/model-00001-of-00001.safetensors', swap('aside-3'));
  t.equal(again.failures.total, 0, 'even when the outside file differs: it is never opened');
});

t.test('a bundle listing hundreds of bad paths reports the first 100 and counts them all', async (t) => {
  const { root, key, trust } = await setup(t);
  const files = defaultFiles();
  const manifest = manifestFor(files);
  const list = manifest.files as Array<Record<string, unknown>>;
  for (let i = 0; i < 350; i++) list.push({ path: `../escape-${i}`, size: 1, sha256: 'a'.repeat(64) });
  const dir = path.join(root, 'bundle');
  await writeDirBundle(dir, { files, manifest, signers: [key] });
  const res = await airlock(['verify', dir, '--trust', trust, '--json']);
  t.equal(res.errorCode, 'BAD_PATH');
  const report = JSON.parse(res.stdout) as { failures: unknown[]; failureCount: number };
  t.equal(report.failures.length, MAX_REPORTED_FAILURES);
  t.equal(report.failureCount, 350);
  t.match(res.stderr.trim().split('\n'), [/and 349 more/], 'one line on stderr, with the count');
});

t.test('a payload of a hundred thousand unlisted files is reported capped, not listed whole', async (t) => {
  const { root, key, signers } = await setup(t);
  const dir = path.join(root, 'bundle');
  await writeDirBundle(dir, { signers: [key] });
  const junk = path.join(dir, 'payload', 'junk');
  await fsp.mkdir(junk);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => fsp.writeFile(path.join(junk, `f${i}`), '')));
  const report = await verifyBundle(dir, { allowedSigners: signers, threshold: 1 });
  t.equal(report.failures.length, MAX_REPORTED_FAILURES);
  t.equal(report.failureCount, 2001, 'every unlisted file and the unlisted folder are counted');
});

t.test('--max-manifest-size refuses a manifest over it before reading it, and can raise the limit on purpose', async (t) => {
  const { root, key, trust } = await setup(t);
  const files = defaultFiles();
  const manifest = { ...manifestFor(files), description: 'x'.repeat(4000) };
  const dir = path.join(root, 'bundle');
  await writeDirBundle(dir, { files, manifest, signers: [key] });
  t.equal((await airlock(['verify', dir, '--trust', trust, '--max-manifest-size', '4k'])).errorCode, 'MANIFEST_TOO_LARGE');
  t.equal((await airlock(['verify', dir, '--trust', trust, '--max-manifest-size', '64k'])).exitCode, 0);
  t.equal((await airlock(['verify', dir, '--trust', trust, '--max-manifest-size', 'lots'])).errorCode, 'USAGE');
});

t.test('removeAfterInstall never removes through a folder swapped for a symlink to the store', async (t) => {
  const root = t.testdir({
    drop: { sub: { bundle: { 'airlock.json': '{}', payload: { a: 'x' } } } },
    store: { bundle: { 'state.json': 'the store', content: { blob: 'keep' } } },
  });
  const drop = path.join(root, 'drop');
  // The moment the event stream announces: sub is swapped for a link to the store, whose folder has the bundle's name.
  await fsp.rename(path.join(drop, 'sub'), path.join(root, 'sub-moved'));
  await fsp.symlink(path.join(root, 'store'), path.join(drop, 'sub'));
  await t.rejects(removeDrop({ form: 'dir', location: path.join(drop, 'sub', 'bundle'), media: false }, [drop]), { code: 'WRONG_TYPE' });
  t.equal(await fsp.readFile(path.join(root, 'store', 'bundle', 'state.json'), 'utf8'), 'the store', 'the store is untouched');
  t.equal(await fsp.readFile(path.join(root, 'store', 'bundle', 'content', 'blob'), 'utf8'), 'keep');
});

t.test('removeAfterInstall removes a split bundle, its parts and its sidecar, through the drop folder', async (t) => {
  const root = t.testdir({
    drop: {
      'b.airlock.parts.json': '{}',
      'b.airlock.tar.000': 'x',
      'b.airlock.tar.001': 'y',
      'b.airlock.signatures': { 'a.sig': 's' },
      'other.airlock.tar.000': 'keep',
    },
  });
  const drop = path.join(root, 'drop');
  t.equal(await removeDrop({ form: 'split', location: path.join(drop, 'b.airlock.parts.json'), media: false }, [drop]), true);
  t.same(await fsp.readdir(drop), ['other.airlock.tar.000']);
});
