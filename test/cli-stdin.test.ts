// BUNDLE - : a tar read from standard input as it streams (`ssh host cat x.airlock.tar | airlock verify -`).
// verify, inspect and install read it once; nothing waits for the end of the stream before it can decide, which
// the never-ending pipes below prove (a reader that buffered the whole tar would wait for ever).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AIRLOCK_BIN, childEnv, type CliResult } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey } from './helpers/keys.js';

const KEY = fixturePath('keys/demo_ed25519');
const TRUST = fixturePath('keys/allowed_signers.demo');

/**
 * airlock ARGS with `input` written to its standard input; with `keepOpen` the pipe then stays open, so airlock
 * sees no end of stream. Killed after two minutes (exit 124) if airlock hangs.
 */
function piped(input: Buffer | string, args: string[], keepOpen = false): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    // airlock may stop reading before the input ends (inspect, a failed install): EPIPE is expected then.
    child.stdin.on('error', () => undefined);
    child.stdin.write(input);
    if (!keepOpen) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ exitCode: signal ? 124 : (code ?? 1), stdout, stderr, errorCode: /^airlock: ([A-Z_]+):/m.exec(stderr)?.[1] });
    });
  });
}

/** A copy of the tar with one byte of fixtures/model-dir/config.json's data flipped (the head stays intact). */
function tamperedTar(tar: string, out: string): string {
  const bytes = readFileSync(tar);
  const content = readFileSync(fixturePath('model-dir/config.json')).subarray(0, 32);
  const at = bytes.indexOf(content);
  if (at < 0) throw new Error('config.json data not found in the tar');
  bytes[at + 5] = bytes[at + 5]! ^ 1;
  writeFileSync(out, bytes);
  return out;
}

t.test('verify -: a tar from a pipe is checked like the file', async (t) => {
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar' });
  const ok = await piped(readFileSync(packed.location), ['verify', '-', '--trust', TRUST]);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.match(ok.stdout, /^bundle +meta\/llama-3\.1-8b-instruct +\(model-dir, tar form\)$/m);
  t.match(ok.stdout, /^OK$/m);
  const json = await piped(readFileSync(packed.location), ['verify', '-', '--trust', TRUST, '--json']);
  t.match(JSON.parse(json.stdout), { ok: true, bundle: { location: 'standard input', id: packed.id } });

  const bad = await piped(readFileSync(tamperedTar(packed.location, path.join(dir, 'bad.airlock.tar'))), ['verify', '-', '--trust', TRUST]);
  t.equal(bad.exitCode, 1);
  t.equal(bad.errorCode, 'HASH_MISMATCH');
  t.match(bad.stdout, /^ {2}HASH_MISMATCH: .*config\.json/m);

  const cut = await piped(readFileSync(packed.location).subarray(0, 20000), ['verify', '-', '--trust', TRUST]);
  t.equal(cut.exitCode, 1, 'a stream that ends early');
  t.equal(cut.errorCode, 'TAR_INVALID');
  const notTar = await piped('hello\n', ['verify', '-', '--trust', TRUST]);
  t.equal(notTar.exitCode, 1);
  t.match(notTar.errorCode, /^(TAR_INVALID|MANIFEST_NOT_FIRST)$/);
});

t.test('verify -: only the signatures inside the tar count (a sidecar is not on the pipe)', async (t) => {
  const dir = t.testdir();
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar' });
  const second = makeKey(dir, 'second', { comment: 'second@example.org' });
  const trust = path.join(dir, 'allowed_signers');
  writeFileSync(trust, `${readFileSync(TRUST, 'utf8').trim()}\nsecond@example.org namespaces="airlock" ${second.publicLine}\n`);
  const signed = await piped('', ['sign', packed.location, '--key', second.privatePath]);
  t.equal(signed.exitCode, 0, signed.stderr);
  const file = await piped('', ['verify', packed.location, '--trust', trust, '--threshold', '2']);
  t.equal(file.exitCode, 0, `the file: two signatures, one beside it (${file.stderr})`);
  const pipe = await piped(readFileSync(packed.location), ['verify', '-', '--trust', trust, '--threshold', '2']);
  t.equal(pipe.errorCode, 'THRESHOLD_NOT_MET', 'the pipe: only the one inside');
});

t.test('inspect - reads only the head: it ends while the stream is still open', async (t) => {
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar' });
  const res = await piped(readFileSync(packed.location), ['inspect', '-'], true);
  t.equal(res.exitCode, 0, res.stderr);
  t.match(res.stdout, new RegExp(`^id +${packed.id}$`, 'm'));
});

t.test('install -: bytes go from the pipe into the store; a bad file stops it without waiting for the end', async (t) => {
  const dir = t.testdir();
  const store = path.join(dir, 'store');
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar', sequence: 3 });
  const bad = await piped(
    readFileSync(tamperedTar(packed.location, path.join(dir, 'bad.airlock.tar'))),
    ['install', '-', '--store', store, '--trust', TRUST],
    true,
  );
  t.equal(bad.exitCode, 1, 'failed at the tampered file, though the stream never ended');
  t.equal(bad.errorCode, 'HASH_MISMATCH');

  const res = await piped(readFileSync(packed.location), ['install', '-', '--store', store, '--trust', TRUST, '--json']);
  t.equal(res.exitCode, 0, res.stderr);
  const report = JSON.parse(res.stdout);
  t.match(report, { ok: true, status: 'installed', bundleId: packed.id });
  const again = await piped(readFileSync(packed.location), ['install', '-', '--store', store, '--trust', TRUST, '--json']);
  t.equal(JSON.parse(again.stdout).status, 'already-installed');
});
