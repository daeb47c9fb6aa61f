// Issue 11 §7: untrusted text on a person's terminal. Bundle names, file paths, profile names, signature file
// names, principals and locations carrying ESC sequences, newlines, CR, C1 controls and bidi overrides are
// shown escaped: stdout and stderr hold no raw control character but the line ends, and each error is one line.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { formatStatus } from '../src/cli/commands/status.js';
import { AirlockError, formatErrorLine } from '../src/errors.js';
import type { BundleRecord } from '../src/pipeline/types.js';
import { escapeText, isPlainText } from '../src/util/escape-text.js';
import { manifestFor, sha256, writeDirBundle, type SourceFile } from './helpers/bundle-builder.js';
import { airlock, type CliResult } from './helpers/cli.js';
import { packArgs } from './helpers/fixtures.js';
import { makeKey, sshSign, writeAllowedSigners } from './helpers/keys.js';

// Clear the screen, set the window title, colour, CSI as a C1 byte, reverse the rest of the line, isolate.
const HOSTILE = '\x1b[2J\x1b]0;owned\x07\x1b[31m\u009b1m\r\nairlock: OK\u202egpj.exe\u2066\u2028';

/** Every character a terminal or viewer would act on, other than the line feeds that end lines. */
function rawControls(text: string): string[] {
  return [...text.replace(/\n/g, '')].filter((c) => !isPlainText(c)).map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

function assertClean(t: Test, res: CliResult, what: string): void {
  t.same(rawControls(res.stdout), [], `${what}: no raw control characters on stdout`);
  t.same(rawControls(res.stderr), [], `${what}: no raw control characters on stderr`);
  const errors = res.stderr.split('\n').filter((l) => l !== '');
  t.ok(
    errors.every((l) => l.startsWith('airlock: ')),
    `${what}: every stderr line is an airlock line (${JSON.stringify(res.stderr)})`,
  );
}

t.test('escapeText makes every control, bidi override and line separator visible, and keeps the rest', async (t) => {
  t.equal(escapeText('a\x1b[31mb\nc\rd\te\x00\x7f'), 'a\\x1b[31mb\\x0ac\\x0dd\\x09e\\x00\\x7f');
  t.equal(escapeText('\u0085\u009b'), '\\x85\\x9b', 'C1');
  t.equal(
    escapeText('\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c'),
    '\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{202E}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{200E}\\u{200F}\\u{61C}',
  );
  t.equal(escapeText('\u2028\u2029'), '\\u{2028}\\u{2029}');
  t.equal(escapeText('méta/lläma 日本 🙂 C:\\x ~/a b'), 'méta/lläma 日本 🙂 C:\\x ~/a b', 'ordinary text unchanged');
  t.equal(escapeText(escapeText(HOSTILE)), escapeText(HOSTILE), 'idempotent');
  t.ok(isPlainText(escapeText(HOSTILE)));
});

t.test('an error carrying hostile text is one escaped line', async (t) => {
  const line = formatErrorLine(new AirlockError('BAD_PATH', `manifest path ${HOSTILE} is bad`, { path: `p${HOSTILE}` }));
  t.notOk(line.includes('\n'));
  t.same(rawControls(line), []);
  t.match(line, /^airlock: BAD_PATH: manifest path \\x1b\[2J/);
});

interface HostileBundle {
  dir: string;
  trust: string;
}

/** A signed dir bundle whose profile name, one payload path, signature file name and principal are hostile. */
async function hostileBundle(t: Test): Promise<HostileBundle> {
  const base = t.testdir({});
  const key = makeKey(path.join(base, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(base, 'allowed_signers'), [{ principals: 'ops\x1b[2J\u202e@example.org', key }]);
  const evilPath = 'weights/\u202egpj.exe\u009b31m';
  const files: SourceFile[] = [
    { path: 'config.json', data: Buffer.from('{}\n') },
    { path: evilPath, data: Buffer.from('the signed bytes\n') },
  ];
  const manifest = manifestFor(files, { profiles: [{ id: 'a'.repeat(64), name: `fast${HOSTILE}` }] });
  const dir = path.join(base, `bundle${HOSTILE.replace(/\//g, '')}`);
  const { manifestBytes } = await writeDirBundle(dir, { files, manifest });
  // The payload file no longer matches the manifest: verify lists its path among the failures.
  await fsp.writeFile(path.join(dir, 'payload', evilPath), 'other bytes!!!!!\n');
  await fsp.writeFile(path.join(dir, 'signatures', `\x1b[31mlabel\u202e\r.sig`), sshSign(key, manifestBytes));
  t.equal(sha256(manifestBytes).length, 64);
  return { dir, trust };
}

t.test('inspect, verify and install show a hostile bundle escaped, with one-line errors', async (t) => {
  const b = await hostileBundle(t);
  const inspect = await airlock(['inspect', b.dir, '--trust', b.trust]);
  t.equal(inspect.exitCode, 0, inspect.stderr);
  assertClean(t, inspect, 'inspect');
  t.match(inspect.stdout, 'fast\\x1b[2J', 'the profile name is shown, escaped');
  t.match(inspect.stdout, 'ops\\x1b[2J\\u{202E}@example.org', 'the principal is shown, escaped');

  const verify = await airlock(['verify', b.dir, '--trust', b.trust]);
  t.equal(verify.errorCode, 'HASH_MISMATCH');
  assertClean(t, verify, 'verify');
  t.equal(verify.stderr.trim().split('\n').length, 1, 'verify: the error is one line');
  t.match(verify.stdout, 'weights/\\u{202E}gpj.exe\\x9b31m', 'the failing path is shown, escaped');

  const install = await airlock(['install', b.dir, '--store', path.join(t.testdirName, 'store'), '--trust', b.trust]);
  t.equal(install.errorCode, 'HASH_MISMATCH');
  assertClean(t, install, 'install');
  t.equal(install.stderr.trim().split('\n').length, 1, 'install: the error is one line');

  const json = await airlock(['verify', b.dir, '--trust', b.trust, '--json']);
  const report = JSON.parse(json.stdout) as { failures: Array<{ path?: string }> };
  t.ok(
    report.failures.some((f) => f.path?.includes('\u202egpj.exe\u009b31m')),
    '--json keeps the exact path (JSON escaping protects it)',
  );
});

t.test('a manifest whose name carries ESC and a newline is refused in one escaped line', async (t) => {
  const base = t.testdir({});
  const files: SourceFile[] = [{ path: 'config.json', data: Buffer.from('{}\n') }];
  const dir = path.join(base, 'bundle');
  await writeDirBundle(dir, { files, manifest: manifestFor(files, { name: `evil${HOSTILE}`, id: `x${HOSTILE}` }) });
  const res = await airlock(['inspect', dir]);
  t.equal(res.exitCode, 1);
  t.equal(res.errorCode, 'MANIFEST_INVALID');
  assertClean(t, res, 'inspect');
  t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('pack: a source name with ESC and a newline is refused in one escaped line; hostile DEST names are escaped', async (t) => {
  const dir = t.testdir({ src: { 'config.json': '{}\n' } });
  await fsp.writeFile(path.join(dir, 'src', `bad\x1b[2J\nname`), 'x');
  const refused = await airlock(packArgs({ source: path.join(dir, 'src') }, path.join(dir, 'out')));
  t.equal(refused.errorCode, 'SOURCE_INVALID');
  assertClean(t, refused, 'pack refused');
  t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');

  await fsp.rm(path.join(dir, 'src', `bad\x1b[2J\nname`));
  await fsp.writeFile(path.join(dir, 'src', 'r\u202egpj.exe'), 'bidi in a name is allowed, and shown escaped');
  const out = path.join(dir, `out\x1b]0;t\x07\u202e`);
  const packed = await airlock(packArgs({ source: path.join(dir, 'src') }, out).filter((a) => a !== '--json'));
  t.equal(packed.exitCode, 0, packed.stderr);
  assertClean(t, packed, 'pack');
  t.match(packed.stdout, 'out\\x1b]0;t\\x07\\u{202E}');
});

t.test('usage errors are one escaped error line', async (t) => {
  const res = await airlock(['verify', `a${HOSTILE}`, 'b']);
  t.equal(res.errorCode, 'USAGE');
  t.match(res.stderr, /^airlock: USAGE: missing --trust ALLOWED_SIGNERS \(airlock help verify lists the options\)\n$/);
  const extra = await airlock(['verify', 'a', `b${HOSTILE}`, '--trust', 'x']);
  t.equal(extra.errorCode, 'USAGE');
  t.equal(extra.stderr.split('\n').length, 2, 'one line');
  assertClean(t, extra, 'an unexpected argument');
  const unknown = await airlock([`frob${HOSTILE}`]);
  t.equal(unknown.errorCode, 'USAGE');
  assertClean(t, unknown, 'unknown command');
});

t.test("status: the daemon's bundle records are shown escaped, columns measured after escaping", async (t) => {
  const record = {
    id: 'rec1',
    location: `/drop/x${HOSTILE}`,
    form: 'dir',
    media: false,
    state: 'rejected',
    name: 'n\x1b[2J\r',
    arrival: { bytesPresent: 0 },
    verification: { bytesDone: 0, bytesTotal: 0 },
    error: { code: 'BAD_PATH', message: `manifest path ${HOSTILE}` },
    detectedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  } as unknown as BundleRecord;
  const status = {
    version: '0.1.0',
    uptimeSeconds: 5,
    config: { source: 'c', demoTrust: false, store: '/s', runtime: 'none' },
    watched: [{ path: `/drop${HOSTILE}`, kind: 'drop', watching: true }],
    queue: { queued: [] },
    models: [],
  };
  const text = formatStatus('http://127.0.0.1:7480', status, [record]);
  t.same(rawControls(text), []);
  const [head, row] = text.split('\n').filter((l) => l.startsWith('BUNDLE') || l.startsWith('rec1'));
  t.equal(head!.indexOf('STATE'), row!.indexOf('rejected'), 'the STATE column lines up');
});
