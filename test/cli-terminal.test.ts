// On a real terminal (a pseudo-terminal from script(1)): verify shows the bundle first, then a progress line,
// then the verdict in colour; NO_COLOR and TERM=dumb take the colour away, --quiet the progress; BUNDLE - on a
// terminal is refused. Without a terminal there is neither (the other CLI tests check plain output).
/* eslint-disable no-control-regex -- terminal output is escape sequences: matching them is the point */
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';

const KEY = fixturePath('keys/demo_ed25519');
const TRUST = fixturePath('keys/allowed_signers.demo');
/** An SGR sequence: colour, bold. Cursor movement (\r, ESC[K) is not colour. */
const SGR = /\x1b\[[0-9;]*m/;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** airlock ARGS with stdin, stdout and stderr on one pseudo-terminal; the text as the terminal got it. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; text: string }> {
  const command = [process.execPath, AIRLOCK_BIN, ...args].map(quote).join(' ');
  // The test runner may set NO_COLOR itself: each case says whether it wants it.
  const base = childEnv({ TERM: 'xterm', ...env });
  if (!('NO_COLOR' in env)) delete base['NO_COLOR'];
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: base, timeout: 120_000 }, (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, text: stdout.replace(/\r\n/g, '\n') });
    });
  });
}

t.test('verify on a terminal: header, then progress, then the verdict in colour', async (t) => {
  const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [KEY], format: 'tar' });
  const { code, text } = await onTerminal(['verify', packed.location, '--trust', TRUST]);
  t.equal(code, 0, text);
  const header = text.indexOf('signatures (threshold 1, 1 trusted):');
  const progress = text.indexOf('\rverifying ');
  const verdict = text.indexOf('\x1b[32mOK\x1b[0m');
  t.ok(header >= 0 && progress > header, 'the bundle and its signatures come before the progress line');
  t.ok(verdict > progress, 'the verdict after it, in green');
  t.match(text, /\rverifying +[\d.]+ \w*B \/ [\d.]+ \w*B +\d+%/, 'a byte progress line');

  const plain = await onTerminal(['verify', packed.location, '--trust', TRUST], { NO_COLOR: '1' });
  t.equal(plain.code, 0);
  t.notMatch(plain.text, SGR, 'NO_COLOR: no colour');
  t.match(plain.text, /^OK$/m);
  t.notMatch((await onTerminal(['verify', packed.location, '--trust', TRUST], { TERM: 'dumb' })).text, SGR, 'TERM=dumb: no colour');

  const quiet = await onTerminal(['verify', packed.location, '--trust', TRUST, '--quiet']);
  t.equal(quiet.code, 0);
  t.notMatch(quiet.text, /verifying/, '--quiet: no progress line');
  t.match(quiet.text, /^bundle +meta\/llama/m, 'the report stays');
});

t.test('pack and install on a terminal show progress unless --quiet', async (t) => {
  const dir = t.testdir();
  const bundle = path.join(dir, 'bundle');
  const args = ['pack', fixturePath('model-dir'), '--out', bundle, '--name', 'test/tty', '--kind', 'model-dir', '--sign', KEY];
  const packed = await onTerminal(args);
  t.equal(packed.code, 0, packed.text);
  t.match(packed.text, /\rhash \+ copy +[\d.]+ \w*B \//, 'a progress phase');
  const quietPack = await onTerminal([...args.slice(0, 3), path.join(dir, 'quiet'), ...args.slice(4), '--quiet']);
  t.equal(quietPack.code, 0, quietPack.text);
  t.notMatch(quietPack.text, /hash \+ copy/, '--quiet: no progress');
  t.match(quietPack.text, /^packed +test\/tty/m);
  const installed = await onTerminal(['install', bundle, '--store', path.join(dir, 'store'), '--trust', TRUST, '-q']);
  t.equal(installed.code, 0, installed.text);
  t.notMatch(installed.text, /\r(installing|signatures)/, '-q: no progress');
  t.match(installed.text, /\x1b\[32minstalled\x1b\[0m meta|\x1b\[32minstalled\x1b\[0m test\/tty/, 'installed, in green');
});

t.test('errors on a terminal: the code in colour, unless NO_COLOR', async (t) => {
  const coloured = await onTerminal(['verify', 'x', '--trsut', 'y']);
  t.equal(coloured.code, 2);
  t.match(coloured.text, /^\x1b\[1;31mairlock: USAGE:\x1b\[0m airlock verify has no option --trsut/m);
  t.notMatch((await onTerminal(['verify', 'x', '--trsut', 'y'], { NO_COLOR: 'yes' })).text, SGR);
});

t.test('BUNDLE - when standard input is the terminal: a usage error, not a wait', async (t) => {
  const res = await onTerminal(['verify', '-', '--trust', TRUST]);
  t.equal(res.code, 2);
  t.match(res.text, /USAGE:.*BUNDLE - reads a tar from standard input, which is a terminal; pipe one in/);
});
