// One reading of a tar (issue 11 §6): whenever airlock accepts a tar bundle, GNU tar lists the same entries with
// the same sizes and extracts the same bytes, so a reviewer who unpacks it by hand sees what airlock installs.
// The fuzz test (fuzz-bundles.test.ts) applies the same check to thousands of mutants over time.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { verifyBundle } from '../src/bundle/verify.js';
import { loadAllowedSigners } from '../src/trust/allowed-signers.js';
import { packFixture } from './helpers/fixtures.js';
import { gnuDisagreements } from './helpers/gnu-tar.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('tars airlock packs and accepts read the same in GNU tar: names, sizes, bytes', async (t) => {
  const dir = t.testdir();
  const key = makeKey(path.join(dir, 'keys'), 'release');
  const signers = await loadAllowedSigners(writeAllowedSigners(path.join(dir, 'allowed_signers'), [{ principals: 'r@test.invalid', key }]));
  // A source with long paths (pax headers), an empty file and an 8 KiB+ file.
  const src = path.join(dir, 'src');
  const deep = path.join(src, 'a'.repeat(90), 'b'.repeat(90));
  await fsp.mkdir(deep, { recursive: true });
  await fsp.writeFile(path.join(deep, `${'c'.repeat(120)}.safetensors`), Buffer.alloc(9000, 5));
  await fsp.writeFile(path.join(src, 'config.json'), '{}');
  await fsp.writeFile(path.join(src, 'empty'), '');
  await fsp.writeFile(path.join(src, 'ünïcode.json'), '"names in UTF-8"');
  for (const fixture of ['nim-cache', 'model-dir'] as const) {
    const packed = await packFixture(t, { fixture, format: 'tar', signKeys: [key.privatePath] });
    t.ok((await verifyBundle(packed.location, { allowedSigners: signers, threshold: 1 })).ok, `${fixture}: airlock accepts it`);
    t.same(await gnuDisagreements(packed.location, path.join(dir, `x-${fixture}`)), [], `${fixture}: GNU tar agrees`);
  }
  const packed = await packFixture(t, { source: src, format: 'tar', signKeys: [key.privatePath] });
  t.ok((await verifyBundle(packed.location, { allowedSigners: signers, threshold: 1 })).ok);
  t.same(await gnuDisagreements(packed.location, path.join(dir, 'x-src')), [], 'long and UTF-8 names: GNU tar agrees');
  t.equal(
    sha(await fsp.readFile(path.join(dir, 'x-src', 'airlock.json'))),
    packed.manifestDigest,
    'GNU tar extracts the very manifest airlock verified',
  );
});
