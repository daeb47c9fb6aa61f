// `airlock keygen` and `airlock sign` end to end: real CLI, real tar archives, checked with stock ssh-keygen.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { create as createTar } from 'tar';
import { buildPartsIndex, serializePartsIndex } from '../src/bundle/parts-index.js';
import { spawnSync } from 'node:child_process';
import { AIRLOCK_BIN, airlock, childEnv } from './helpers/cli.js';
import { makeKey, sshKeygen, sshVerify, writeAllowedSigners, type TestKey } from './helpers/keys.js';
import { manifestFor } from './helpers/bundle-builder.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const payload = Buffer.from('hello, air gap\n');

/** A minimal valid directory bundle: airlock.json (schema/manifest.schema.json) and one payload file. */
function writeDirBundle(dir: string): Buffer {
  mkdirSync(path.join(dir, 'payload'), { recursive: true });
  writeFileSync(path.join(dir, 'payload', 'hello.txt'), payload);
  const manifest = manifestFor([{ path: 'hello.txt', data: payload }], { id: 'demo-model-1-abc123', name: 'demo/model' });
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(path.join(dir, 'airlock.json'), bytes);
  return bytes;
}

function trustFile(dir: string, key: TestKey, principal: string): string {
  const file = path.join(dir, 'allowed_signers');
  writeAllowedSigners(file, [{ principals: principal, options: 'namespaces="airlock"', key }]);
  return file;
}

t.test('keygen writes an OpenSSH key pair and refuses to overwrite it', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'reviewer');
  const r = await airlock(['keygen', file, '--comment', 'reviewer@example.org']);
  t.equal(r.exitCode, 0, r.stderr);
  const fp = sshKeygen(['-l', '-f', `${file}.pub`]).stdout.split(' ')[1]!;
  t.match(r.stdout, fp, 'prints the fingerprint ssh-keygen -l shows');
  t.match(r.stdout, `${file}.pub`, 'prints the public key path');
  t.equal(sshKeygen(['-y', '-f', file]).stdout.trim(), readFileSync(`${file}.pub`, 'utf8').trim());
  const again = await airlock(['keygen', file]);
  t.equal(again.exitCode, 2);
  t.equal(again.errorCode, 'KEY_EXISTS');
});

t.test('sign a directory bundle; ssh-keygen -Y verify accepts the signature', async (t) => {
  const dir = t.testdir();
  const bundle = path.join(dir, 'bundle');
  const manifestBytes = writeDirBundle(bundle);
  const key = makeKey(dir, 'rev', { comment: 'Rev Iewer <rev@example.org>' });
  const r = await airlock(['sign', bundle, '--key', key.privatePath]);
  t.equal(r.exitCode, 0, r.stderr);
  t.same(readdirSync(path.join(bundle, 'signatures')), ['Rev-Iewer-rev-example.org.sig'], 'label from the key comment');
  const sig = readFileSync(path.join(bundle, 'signatures', 'Rev-Iewer-rev-example.org.sig'), 'utf8');
  const v = sshVerify(dir, trustFile(dir, key, 'rev@example.org'), 'rev@example.org', sig, manifestBytes);
  t.equal(v.status, 0, v.stderr);
  t.same(readFileSync(path.join(bundle, 'payload', 'hello.txt')), payload, 'payload untouched');
  t.same(readFileSync(path.join(bundle, 'airlock.json')), manifestBytes, 'manifest untouched');

  const verify = await airlock(['verify', bundle, '--trust', path.join(dir, 'allowed_signers')]);
  t.equal(verify.exitCode, 0, `airlock verify accepts it: ${verify.stderr}`);

  const again = await airlock(['sign', bundle, '--key', key.privatePath, '--label', 'second']);
  t.equal(again.exitCode, 0, 'signing twice with one key is a no-op');
  t.same(readdirSync(path.join(bundle, 'signatures')), ['Rev-Iewer-rev-example.org.sig']);

  const other = makeKey(dir, 'other');
  const clash = await airlock(['sign', bundle, '--key', other.privatePath, '--label', 'Rev-Iewer-rev-example.org']);
  t.equal(clash.exitCode, 2);
  t.equal(clash.errorCode, 'SIGNATURE_EXISTS');
  t.equal(readFileSync(path.join(bundle, 'signatures', 'Rev-Iewer-rev-example.org.sig'), 'utf8'), sig, 'existing signature kept');

  const badLabel = await airlock(['sign', bundle, '--key', other.privatePath, '--label', '../escape']);
  t.equal(badLabel.errorCode, 'USAGE');
  const ok = await airlock(['sign', bundle, '--key', other.privatePath, '--label', 'other']);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.same(readdirSync(path.join(bundle, 'signatures')).sort(), ['Rev-Iewer-rev-example.org.sig', 'other.sig']);
});

t.test('sign a tar bundle: the signature goes beside it and the tar is not rewritten', async (t) => {
  const dir = t.testdir();
  const src = path.join(dir, 'src');
  const manifestBytes = writeDirBundle(src);
  const tar = path.join(dir, 'demo.airlock.tar');
  await createTar({ file: tar, cwd: src, portable: true }, ['airlock.json', 'payload/hello.txt']);
  const before = sha256(readFileSync(tar));
  const key = makeKey(dir, 'rev');
  const r = await airlock(['sign', tar, '--key', key.privatePath, '--label', 'rev']);
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(sha256(readFileSync(tar)), before, 'tar bytes unchanged');
  const sig = readFileSync(path.join(dir, 'demo.airlock.signatures', 'rev.sig'), 'utf8');
  t.equal(sshVerify(dir, trustFile(dir, key, 'rev@x'), 'rev@x', sig, manifestBytes).status, 0);
});

t.test('sign a split bundle given its index or first part', async (t) => {
  const dir = t.testdir();
  const src = path.join(dir, 'src');
  const manifestBytes = writeDirBundle(src);
  const whole = path.join(dir, 'whole.tar');
  await createTar({ file: whole, cwd: src, portable: true }, ['airlock.json', 'payload/hello.txt']);
  const bytes = readFileSync(whole);
  const size = 700; // airlock.json's header and body straddle parts
  const parts = [];
  for (let i = 0, off = 0; off < bytes.length; i++, off += size) {
    const name = `demo.airlock.tar.${String(i).padStart(3, '0')}`;
    const slice = bytes.subarray(off, off + size);
    writeFileSync(path.join(dir, name), slice);
    parts.push({ name, size: slice.length, sha256: sha256(slice) });
  }
  writeFileSync(
    path.join(dir, 'demo.airlock.parts.json'),
    serializePartsIndex(buildPartsIndex('demo.airlock.tar', { size: bytes.length, sha256: sha256(bytes) }, parts)),
  );
  const a = makeKey(dir, 'a');
  const b = makeKey(dir, 'b');
  t.equal((await airlock(['sign', path.join(dir, 'demo.airlock.parts.json'), '--key', a.privatePath, '--label', 'a'])).exitCode, 0);
  t.equal((await airlock(['sign', path.join(dir, 'demo.airlock.tar.000'), '--key', b.privatePath, '--label', 'b'])).exitCode, 0);
  for (const [label, key] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const sig = readFileSync(path.join(dir, 'demo.airlock.signatures', `${label}.sig`), 'utf8');
    t.equal(sshVerify(dir, trustFile(dir, key, `${label}@x`), `${label}@x`, sig, manifestBytes).status, 0, label);
  }
});

t.test('passphrase-protected key: --passphrase-file, wrong passphrase, no terminal', async (t) => {
  const dir = t.testdir({ right: 'secret\n', wrong: 'nope\n' });
  const bundle = path.join(dir, 'bundle');
  writeDirBundle(bundle);
  const key = makeKey(dir, 'locked', { passphrase: 'secret' });
  const none = await airlock(['sign', bundle, '--key', key.privatePath]);
  t.equal(none.errorCode, 'PASSPHRASE_REQUIRED');
  t.equal(none.exitCode, 2);
  const wrong = await airlock(['sign', bundle, '--key', key.privatePath, '--passphrase-file', path.join(dir, 'wrong')]);
  t.equal(wrong.errorCode, 'BAD_PASSPHRASE');
  t.notOk(existsSync(path.join(bundle, 'signatures')), 'nothing written on failure');
  const right = await airlock(['sign', bundle, '--key', key.privatePath, '--passphrase-file', path.join(dir, 'right'), '--label', 'locked']);
  t.equal(right.exitCode, 0, right.stderr);
  t.ok(existsSync(path.join(bundle, 'signatures', 'locked.sig')));
});

// script(1) gives the CLI a real pseudo-terminal, so the no-echo prompt path runs for real.
const hasScript = spawnSync('script', ['--version']).status === 0;
t.test('on a terminal the passphrase is prompted for', { skip: hasScript ? false : 'script(1) not available' }, async (t) => {
  const dir = t.testdir();
  const bundle = path.join(dir, 'bundle');
  writeDirBundle(bundle);
  const key = makeKey(dir, 'locked', { passphrase: 'secret' });
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const onTty = (typed: string, label: string) =>
    spawnSync(
      'script',
      ['-qec', [process.execPath, AIRLOCK_BIN, 'sign', bundle, '--key', key.privatePath, '--label', label].map(quote).join(' '), '/dev/null'],
      {
        input: typed,
        env: childEnv(),
        encoding: 'utf8',
      },
    );
  const wrong = onTty('not it\r', 'wrong');
  t.not(wrong.status, 0);
  t.match(wrong.stdout, /BAD_PASSPHRASE/);
  const right = onTty('secret\r', 'tty');
  t.equal(right.status, 0, right.stdout);
  t.ok(existsSync(path.join(bundle, 'signatures', 'tty.sig')));
  t.notOk(existsSync(path.join(bundle, 'signatures', 'wrong.sig')));
});

t.test('refuses to sign what is not a valid bundle', async (t) => {
  const dir = t.testdir();
  const key = makeKey(dir, 'rev');
  const bundle = path.join(dir, 'bundle');
  writeDirBundle(bundle);
  writeFileSync(path.join(bundle, 'airlock.json'), '{"schema":"airlock.bundle/v1"}\n');
  const r = await airlock(['sign', bundle, '--key', key.privatePath]);
  t.equal(r.errorCode, 'MANIFEST_INVALID');
  t.notOk(existsSync(path.join(bundle, 'signatures')));

  const src = path.join(dir, 'src');
  writeDirBundle(src);
  const tar = path.join(dir, 'wrong-order.airlock.tar');
  await createTar({ file: tar, cwd: src, portable: true }, ['payload/hello.txt', 'airlock.json']);
  const notFirst = await airlock(['sign', tar, '--key', key.privatePath]);
  t.equal(notFirst.errorCode, 'MANIFEST_NOT_FIRST');

  const rsa = makeKey(dir, 'rsa', { type: 'rsa' });
  const unsupported = await airlock(['sign', src, '--key', rsa.privatePath]);
  t.equal(unsupported.errorCode, 'UNSUPPORTED_KEY');
  t.equal(unsupported.exitCode, 2);
});
