// pack --sign: every key is loaded (and its passphrase checked) before any byte is read; signatures verify with ssh-keygen.
import t from 'tap';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { airlock } from './helpers/cli.js';
import { packArgs, packFixture } from './helpers/fixtures.js';
import { makeKey, sshVerify, writeAllowedSigners } from './helpers/keys.js';

t.test('passphrase-protected key with --passphrase-file', async (t) => {
  const dir = t.testdir({ pass: 'correct horse\n', wrong: 'battery staple\n' });
  const key = makeKey(dir, 'release', { passphrase: 'correct horse', comment: 'release@example.org' });
  const packed = await packFixture(t, { fixture: 'model-dir', format: 'tar', signKeys: [key.privatePath], passphraseFile: path.join(dir, 'pass') });
  t.equal(packed.totals.signatures, 1);
  const out = path.join(dir, 'x');
  await fsp.mkdir(out);
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => execFile('tar', ['-xf', packed.location, '-C', out], (e) => (e ? reject(e) : resolve())));
  const allowed = path.join(dir, 'allowed');
  writeAllowedSigners(allowed, [{ principals: 'release@example.org', options: 'namespaces="airlock"', key }]);
  const v = sshVerify(
    dir,
    allowed,
    'release@example.org',
    await fsp.readFile(path.join(out, 'signatures/release-example.org.sig'), 'utf8'),
    await fsp.readFile(path.join(out, 'airlock.json')),
  );
  t.equal(v.status, 0, `ssh-keygen -Y verify: ${v.stdout.trim()} ${v.stderr.trim()}`);

  const bad = await airlock(
    packArgs({ fixture: 'model-dir', signKeys: [key.privatePath], passphraseFile: path.join(dir, 'wrong') }, path.join(dir, 'b1')),
  );
  t.equal(bad.errorCode, 'BAD_PASSPHRASE');
  t.equal(bad.exitCode, 2);
  const none = await airlock(packArgs({ fixture: 'model-dir', signKeys: [key.privatePath] }, path.join(dir, 'b2')));
  t.equal(none.errorCode, 'PASSPHRASE_REQUIRED', 'no terminal, no passphrase file');
  t.equal(none.exitCode, 2);
  t.notOk(
    (await fsp.readdir(dir)).some((n) => n.startsWith('b') || n.includes('partial')),
    'nothing written when a key cannot be loaded',
  );
});

t.test('key problems are refused before packing', async (t) => {
  const dir = t.testdir({ 'not-a-key': 'hello\n' });
  const a = makeKey(dir, 'a');
  const rsa = makeKey(dir, 'rsa', { type: 'rsa' });
  const cases: Array<[string, string[], string]> = [
    ['the same key twice', [a.privatePath, a.privatePath], 'USAGE'],
    ['a missing key file', [path.join(dir, 'nope')], 'KEY_INVALID'],
    ['not a key', [path.join(dir, 'not-a-key')], 'KEY_INVALID'],
    ['an RSA key', [rsa.privatePath], 'UNSUPPORTED_KEY'],
  ];
  for (const [name, keys, code] of cases) {
    const res = await airlock(packArgs({ fixture: 'model-dir', signKeys: keys }, path.join(dir, 'out')));
    t.equal(res.errorCode, code, name);
    t.equal(res.exitCode, 2, `${name}: exit 2`);
  }
  t.notOk((await fsp.readdir(dir)).includes('out'));
});

t.test('labels: key comments made file-safe, the key hash when there is no comment, suffixes on clashes', async (t) => {
  const dir = t.testdir();
  const a = makeKey(dir, 'a', { comment: 'ops team <ops@example.org>' });
  const b = makeKey(dir, 'b', { comment: 'ops team <ops@example.org>' });
  const c = makeKey(dir, 'c', { comment: '' });
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [a.privatePath, b.privatePath, c.privatePath] });
  const blob = Buffer.from(c.publicLine.split(' ')[1] ?? '', 'base64');
  const hashLabel = `key-${createHash('sha256').update(blob).digest('hex').slice(0, 12)}`;
  t.same(
    (await fsp.readdir(path.join(packed.location, 'signatures'))).sort(),
    ['ops-team-ops-example.org-2.sig', 'ops-team-ops-example.org.sig', `${hashLabel}.sig`].sort(),
  );
  const allowed = path.join(dir, 'allowed');
  writeAllowedSigners(allowed, [
    { principals: 'ops', key: a },
    { principals: 'ops2', key: b },
    { principals: 'anon', key: c },
  ]);
  const manifest = await fsp.readFile(path.join(packed.location, 'airlock.json'));
  for (const [principal, file] of [
    ['ops', 'ops-team-ops-example.org'],
    ['ops2', 'ops-team-ops-example.org-2'],
    ['anon', hashLabel],
  ] as const) {
    const v = sshVerify(dir, allowed, principal, await fsp.readFile(path.join(packed.location, 'signatures', `${file}.sig`), 'utf8'), manifest);
    t.equal(v.status, 0, `${file}.sig verifies for ${principal}`);
  }
});
