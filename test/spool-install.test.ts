// The install's side of verifying while arriving: it takes the spool's copies only for the very manifest they
// were verified against and only for files still exactly as copied; anything else is read and verified as always,
// so a file changed after its copy was made never installs stale, and never installs wrong.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { installBundle } from '../src/ops/install.js';
import { prestagedFor } from '../src/spool/prestaged.js';
import { ArrivalStager } from '../src/spool/stager.js';
import { loadAllowedSigners } from '../src/trust/allowed-signers.js';
import { observeCandidate } from '../src/watcher/probe.js';
import { manifestFor, sha256, writeDirBundle, type SourceFile } from './helpers/bundle-builder.js';
import { makeKey, sshSign, writeAllowedSigners } from './helpers/keys.js';

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));
const FILES: SourceFile[] = [
  { path: 'config.json', data: Buffer.from('{"a":1}\n') },
  { path: 'weights/shard-1.bin', data: bytes(80_000, 1) },
  { path: 'weights/shard-2.bin', data: bytes(60_000, 2) },
];
const TOTAL = FILES.reduce((n, f) => n + f.data!.length, 0);

async function staged(t: Test) {
  const root = t.testdir();
  const key = makeKey(path.join(root, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(root, 'allowed_signers'), [{ principals: 'release@test.invalid', key }]);
  const drop = path.join(root, 'drop');
  const bundle = path.join(drop, 'b');
  await writeDirBundle(bundle, { files: FILES, signers: [key] });
  const spools = path.join(root, 'spool');
  const store = path.join(root, 'store');
  const stager = new ArrivalStager({
    root: spools,
    store,
    trust: { allowedSigners: trust },
    threshold: 1,
    maxManifestBytes: 1 << 20,
    settleMs: 50,
    keepMs: 3_600_000,
  });
  t.teardown(() => stager.close());
  for (let i = 0; ; i++) {
    const { look } = await observeCandidate({ form: 'dir', location: bundle, root: drop, media: false });
    if ((await stager.advance(look!)).state === 'staged') break;
    if (i > 400) throw new Error('never staged');
    await new Promise((r) => setTimeout(r, 25));
  }
  const signers = await loadAllowedSigners(trust);
  const install = () =>
    installBundle(bundle, { store, allowedSigners: signers, threshold: 1, prestaged: (digest) => prestagedFor(spools, bundle, digest) });
  return { bundle, store, install, key };
}

t.test('every file verified while it arrived is linked in, none read again', async (t) => {
  const { store, install } = await staged(t);
  const result = await install();
  t.equal(result.status, 'installed');
  t.equal(result.bytesVerified, TOTAL);
  t.equal(result.bytesPrestaged, TOTAL);
  for (const f of FILES) t.same(await fsp.readFile(path.join(result.path, f.path)), f.data, `${f.path} installed`);
  const blob = path.join(store, 'content', 'sha256', sha256(FILES[1]!.data!).slice(0, 2), sha256(FILES[1]!.data!));
  t.same(await fsp.readFile(blob), FILES[1]!.data, 'as store content');
});

t.test('a file rewritten with other bytes after its copy was made is read again and rejected, never installed stale', async (t) => {
  const { bundle, store, install } = await staged(t);
  const shard = path.join(bundle, 'payload', FILES[1]!.path);
  const wrong = Buffer.from(FILES[1]!.data!);
  wrong[7] = (wrong[7]! + 1) % 256;
  await fsp.writeFile(shard, wrong);
  await t.rejects(install(), { code: 'HASH_MISMATCH' });
  t.same(await fsp.readdir(path.join(store, 'deployments')).catch(() => []), [], 'nothing installed');
});

t.test('a file touched after its copy was made is read again; the others are still taken from their copies', async (t) => {
  const { bundle, install } = await staged(t);
  const shard = path.join(bundle, 'payload', FILES[1]!.path);
  await fsp.utimes(shard, new Date(), new Date(Date.now() + 5000));
  const result = await install();
  t.equal(result.bytesVerified, TOTAL);
  t.equal(result.bytesPrestaged, TOTAL - FILES[1]!.data!.length);
});

t.test('copies verified against another manifest are not used', async (t) => {
  const { bundle, install, key } = await staged(t);
  // The same files listed in another signed manifest (another id and sequence): another digest.
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(FILES, { id: 'test-bundle-2', sequence: 2 }), null, 2) + '\n');
  await fsp.writeFile(path.join(bundle, 'airlock.json'), manifestBytes);
  await fsp.writeFile(path.join(bundle, 'signatures', 'signer0.sig'), sshSign(key, manifestBytes));
  const result = await install();
  t.equal(result.status, 'installed');
  t.equal(result.bytesVerified, TOTAL, 'every byte read and verified');
  t.equal(result.bytesPrestaged, undefined, 'none taken from the copies');
});
