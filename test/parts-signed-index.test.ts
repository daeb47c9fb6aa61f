// The signed parts index (docs/parts.md): pack signs the index's exact bytes under the namespace airlock-parts,
// stock ssh-keygen verifies it, neither kind of signature can be replayed as the other, a re-signed or edited
// index is refused before any payload byte, an unsigned (older) index is still read for integrity, and
// verify/install take parts from several folders (--parts-from).
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { airlock } from './helpers/cli.js';
import { packFixture, type PackedFixture } from './helpers/fixtures.js';
import { makeKey, sshSign, sshVerify, writeAllowedSigners, type TestKey } from './helpers/keys.js';

interface Index {
  tar: string;
  parts: Array<{ name: string; size: number; sha256: string }>;
}

const both = 'namespaces="airlock,airlock-parts"';

async function setup(t: Test, extraKeys: string[] = []) {
  const dir = t.testdir();
  const alice = makeKey(dir, 'alice');
  const keys: TestKey[] = extraKeys.map((k) => makeKey(dir, k));
  const trust = path.join(dir, 'allowed_signers');
  writeAllowedSigners(trust, [
    { principals: 'alice@x', options: both, key: alice },
    ...keys.map((k, i) => ({ principals: `k${i}@x`, options: both, key: k })),
  ]);
  const packed = await packFixture(t, { fixture: 'model-dir', split: '8K', signKeys: [alice.privatePath], name: 'test/parts' });
  const index = JSON.parse(readFileSync(packed.location, 'utf8')) as Index;
  const sigDir = packed.location.replace(/\.parts\.json$/, '.parts.signatures');
  return { dir, alice, trust, packed, index, sigDir, keys };
}

const partsOf = (packed: PackedFixture) => packed.outputs.filter((o) => /\.airlock\.tar\.\d{3}$/.test(o));

t.test('pack signs the index: stock ssh-keygen -Y verify -n airlock-parts accepts it, -n airlock does not', async (t) => {
  const { dir, trust, packed, sigDir } = await setup(t);
  t.same(await fsp.readdir(sigDir), ['alice-airlock.test.sig'], 'one signature per signer, named like the manifest signature');
  t.ok(packed.outputs.includes(sigDir), 'pack lists the signatures folder among its outputs');
  const sig = readFileSync(path.join(sigDir, 'alice-airlock.test.sig'), 'utf8');
  const indexBytes = readFileSync(packed.location);
  const ok = sshVerify(dir, trust, 'alice@x', sig, indexBytes, 'airlock-parts');
  t.equal(ok.status, 0, `ssh-keygen accepts it: ${ok.stderr}`);
  t.match(ok.stdout, /Good "airlock-parts" signature for alice@x/);
  t.not(sshVerify(dir, trust, 'alice@x', sig, indexBytes, 'airlock').status, 0, 'not a manifest signature (namespace)');
  const edited = Buffer.from(indexBytes.toString('utf8').replace(/"sha256": "([0-9a-f])/, (_m, c: string) => `"sha256": "${c === '0' ? '1' : '0'}`));
  t.not(sshVerify(dir, trust, 'alice@x', sig, edited, 'airlock-parts').status, 0, 'over the exact bytes');

  const v = await airlock(['verify', packed.location, '--trust', trust, '--json']);
  t.equal(v.exitCode, 0, v.stderr);
  const report = JSON.parse(v.stdout) as { trust: { partsIndex: { signed: boolean; satisfied: boolean; trustedKeys: number } } };
  t.match(report.trust.partsIndex, { signed: true, satisfied: true, trustedKeys: 1 });
  const human = await airlock(['verify', packed.location, '--trust', trust]);
  t.match(human.stdout, /parts index .*airlock-parts, threshold 1, 1 trusted\):\n {2}trusted {3}.*parts\.signatures\/alice-airlock\.test\.sig/);
});

t.test('a manifest signature is never an index signature, nor the reverse (namespaces)', async (t) => {
  const { dir, alice, trust, packed, sigDir } = await setup(t);
  const bob = makeKey(dir, 'bob');
  writeAllowedSigners(trust, [
    { principals: 'alice@x', options: both, key: alice },
    { principals: 'bob@x', options: both, key: bob },
  ]);
  const indexBytes = readFileSync(packed.location);
  const manifest = execFileSync('sh', ['-c', `cat ${partsOf(packed).join(' ')} | tar -xOf - airlock.json`]);
  // bob signs each document for the other purpose: the signed data names the namespace, so neither counts.
  await fsp.writeFile(path.join(sigDir, 'bob.sig'), sshSign(bob, indexBytes, 'airlock'));
  const sidecar = packed.location.replace(/\.parts\.json$/, '.signatures');
  await fsp.mkdir(sidecar);
  await fsp.writeFile(path.join(sidecar, 'bob.sig'), sshSign(bob, manifest, 'airlock-parts'));
  const v = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2', '--json']);
  t.equal(v.exitCode, 1);
  const r = JSON.parse(v.stdout) as { payloadChecked: boolean; failures: Array<{ code: string; path?: string }> };
  t.equal(r.payloadChecked, false, 'no payload byte read');
  t.ok(
    r.failures.some((f) => f.code === 'WRONG_NAMESPACE' && f.path?.endsWith('.signatures/bob.sig') && !f.path.includes('.parts.')),
    'the index signature offered as a manifest countersignature: WRONG_NAMESPACE',
  );
  t.ok(
    r.failures.some((f) => f.code === 'WRONG_NAMESPACE' && f.path?.endsWith('.parts.signatures/bob.sig')),
    'the manifest signature offered as an index signature: WRONG_NAMESPACE',
  );
  // With bob's signatures made for the right purposes, the same threshold holds.
  await fsp.writeFile(path.join(sigDir, 'bob.sig'), sshSign(bob, indexBytes, 'airlock-parts'));
  await fsp.writeFile(path.join(sidecar, 'bob.sig'), sshSign(bob, manifest, 'airlock'));
  const ok = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2']);
  t.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
});

t.test('an index re-signed by an untrusted key is refused before any payload byte, by verify and install', async (t) => {
  const { dir, trust, packed, sigDir, index } = await setup(t);
  const mallory = makeKey(dir, 'mallory');
  // Mallory edits a digest (pointing the index at her own part) and signs the result herself.
  const edited = readFileSync(packed.location, 'utf8').replace(index.parts[1]!.sha256, 'f'.repeat(64));
  await fsp.writeFile(packed.location, edited);
  await fsp.rm(sigDir, { recursive: true });
  await fsp.mkdir(sigDir);
  await fsp.writeFile(path.join(sigDir, 'alice-airlock.test.sig'), sshSign(mallory, Buffer.from(edited), 'airlock-parts'));
  const v = await airlock(['verify', packed.location, '--trust', trust, '--json']);
  t.equal(v.exitCode, 1);
  const r = JSON.parse(v.stdout) as { payloadChecked: boolean; failures: Array<{ code: string; path?: string; message: string }> };
  t.equal(r.payloadChecked, false);
  t.match(r.failures, [
    { code: 'UNTRUSTED_SIGNER', path: /parts\.signatures\/alice-airlock\.test\.sig$/, message: /^parts index .*not in the allowed signers/ },
    { code: 'THRESHOLD_NOT_MET', path: path.basename(packed.location), message: /^parts index .*0 distinct trusted key/ },
  ]);
  const store = path.join(dir, 'store');
  const i = await airlock(['install', packed.location, '--store', store, '--trust', trust]);
  t.equal(i.exitCode, 1);
  t.equal(i.errorCode, 'UNTRUSTED_SIGNER');
  t.notOk(
    await fsp.stat(path.join(store, 'content')).then(
      () => true,
      () => false,
    ),
    'nothing stored',
  );
});

t.test("an index with one part's digest edited no longer verifies (SIGNATURE_INVALID), even with the parts intact", async (t) => {
  const { trust, packed, index } = await setup(t);
  const p = index.parts[0]!;
  const text = readFileSync(packed.location, 'utf8');
  await fsp.writeFile(
    packed.location,
    text.replace(
      p.sha256,
      p.sha256.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
    ),
  );
  const v = await airlock(['verify', packed.location, '--trust', trust, '--json']);
  t.equal(v.exitCode, 1);
  const r = JSON.parse(v.stdout) as { payloadChecked: boolean; failures: Array<{ code: string; path?: string }> };
  t.equal(r.payloadChecked, false);
  t.equal(r.failures[0]?.code, 'SIGNATURE_INVALID');
  t.match(r.failures[0]?.path, /\.parts\.signatures\/alice-airlock\.test\.sig$/);
});

t.test('an unsigned index (packed before indexes were signed) is still read for integrity', async (t) => {
  const { trust, packed, sigDir, index } = await setup(t);
  await fsp.rm(sigDir, { recursive: true });
  const v = await airlock(['verify', packed.location, '--trust', trust, '--json']);
  t.equal(v.exitCode, 0, v.stdout);
  t.match(JSON.parse(v.stdout), { ok: true, trust: { partsIndex: { signed: false, signers: [] } } });
  const human = await airlock(['verify', packed.location, '--trust', trust]);
  t.match(human.stdout, /parts index .* unsigned \(parts checked for integrity only/);
  // Integrity still holds: a part that differs from its (unsigned) index entry is named.
  const victim = path.join(path.dirname(packed.location), index.parts[1]!.name);
  const bytes = readFileSync(victim);
  bytes[100] = bytes[100]! ^ 1;
  await fsp.writeFile(victim, bytes);
  const bad = await airlock(['verify', packed.location, '--trust', trust, '--json']);
  t.equal(bad.exitCode, 1);
  t.match(JSON.parse(bad.stdout), { failures: [{ code: 'PART_CORRUPT', path: index.parts[1]!.name }] });
});

t.test('airlock sign countersigns the index too; a threshold of two then holds for both', async (t) => {
  const { dir, trust, packed, sigDir, keys } = await setup(t, ['bob']);
  const bob = keys[0]!;
  const before = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2', '--json']);
  t.equal(before.exitCode, 1, 'one signer is not two');
  const s = await airlock(['sign', packed.location, '--key', bob.privatePath, '--label', 'bob']);
  t.equal(s.exitCode, 0, s.stderr);
  t.match(s.stdout, /wrote .*\.airlock\.signatures\/bob\.sig\nwrote .*\.airlock\.parts\.signatures\/bob\.sig/);
  t.same((await fsp.readdir(sigDir)).sort(), ['alice-airlock.test.sig', 'bob.sig']);
  const r = sshVerify(dir, trust, 'k0@x', readFileSync(path.join(sigDir, 'bob.sig'), 'utf8'), readFileSync(packed.location), 'airlock-parts');
  t.equal(r.status, 0, r.stderr);
  const after = await airlock(['verify', packed.location, '--trust', trust, '--threshold', '2', '--json']);
  t.equal(after.exitCode, 0, after.stdout);
  t.match(JSON.parse(after.stdout), { trust: { trustedKeys: 2, partsIndex: { trustedKeys: 2, satisfied: true } } });
  const again = await airlock(['sign', packed.location, '--key', bob.privatePath, '--label', 'bob']);
  t.equal(again.exitCode, 0);
  t.equal(again.stdout.match(/already signed by/g)?.length, 2, 'a key that signed both is not asked again for either');
});

t.test('verify and install take parts from several folders (--parts-from), each part read once from the first that has it', async (t) => {
  const { dir, trust, packed, index } = await setup(t);
  const [stickA, stickB] = [path.join(dir, 'stick-a'), path.join(dir, 'stick-b')];
  await fsp.mkdir(stickA);
  await fsp.mkdir(stickB);
  const names = index.parts.map((p) => p.name);
  const from = path.dirname(packed.location);
  // The index, its signatures and the odd parts on A; the even parts on B.
  const index2 = path.join(stickA, path.basename(packed.location));
  await fsp.rename(packed.location, index2);
  await fsp.rename(packed.location.replace(/\.parts\.json$/, '.parts.signatures'), index2.replace(/\.parts\.json$/, '.parts.signatures'));
  for (const [i, n] of names.entries()) await fsp.rename(path.join(from, n), path.join(i % 2 ? stickA : stickB, n));

  const missing = await airlock(['verify', index2, '--trust', trust, '--json']);
  t.equal(missing.exitCode, 1);
  t.equal(missing.errorCode, 'PART_MISSING');
  const ok = await airlock(['verify', index2, '--trust', trust, '--parts-from', stickB, '--json']);
  t.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
  t.match(JSON.parse(ok.stdout), { ok: true, payloadChecked: true, trust: { partsIndex: { satisfied: true } } });

  // A copy at the wrong size on A is passed over for the right one on B.
  await fsp.writeFile(path.join(stickA, names[0]!), 'short');
  t.equal((await airlock(['verify', index2, '--trust', trust, '--parts-from', stickB])).exitCode, 0, 'wrong-size copy skipped');
  // A copy at the right size but with other bytes is read (first folder wins) and named with its folder.
  const good = readFileSync(path.join(stickB, names[0]!));
  const evil = Buffer.from(good);
  evil[10] = evil[10]! ^ 1;
  await fsp.writeFile(path.join(stickA, names[0]!), evil);
  const bad = await airlock(['verify', index2, '--trust', trust, '--parts-from', stickB]);
  t.equal(bad.exitCode, 1);
  t.equal(bad.errorCode, 'PART_CORRUPT');
  t.ok(bad.stderr.includes(`part ${path.join(stickA, names[0]!)}`) || bad.stderr.includes(`part ${names[0]!}`), bad.stderr);
  await fsp.rm(path.join(stickA, names[0]!));

  const relative = path.relative(process.cwd(), stickB);
  const store = path.join(dir, 'store');
  const i = await airlock(['install', index2, '--store', store, '--trust', trust, '--parts-from', relative, '--json']);
  t.equal(i.exitCode, 0, i.stderr);
  t.match(JSON.parse(i.stdout), { ok: true, status: 'installed', manifestDigest: packed.manifestDigest, trust: { partsIndex: { signed: true } } });
});

t.test('--parts-from is documented in --help of verify and install', async (t) => {
  for (const cmd of ['verify', 'install']) {
    const h = await airlock(['help', cmd]);
    t.match(h.stdout, /--parts-from DIR/, cmd);
  }
});
