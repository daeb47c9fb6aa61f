// Log levels that mean something, down to journald: rejections are warnings, host failures errors, routine
// decisions info. Under systemd every stdout line carries its `<N>` syslog prefix (sd-daemon(3)), which journald
// strips and stores as PRIORITY, so `journalctl -p warning` shows the rejected bundle and not the installed one.
// The end-to-end test runs the real daemon under a real systemd-journald (in a private mount namespace: its
// sockets and journal live on tmpfs, nothing of the host's is touched), connected the way systemd connects a
// service (systemd-cat --level-prefix=true, JOURNAL_STREAM naming the stream), then asks journalctl.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, fstatSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { auditLevel } from '../src/daemon/audit.js';
import { createLoggers, journalPrefixed, stdoutIsJournal, syslogPriority } from '../src/daemon/logger.js';
import { manifestFor, writeDirBundle } from './helpers/bundle-builder.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';
import { AIRLOCK_BIN } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const JOURNALD = '/lib/systemd/systemd-journald';

t.test('pino levels map to syslog priorities', async (t) => {
  t.same([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2], 'trace/debug 7, info 6, warn 4, error 3, fatal 2');
});

t.test('audit decisions have levels: rejections warn, failures error, routine info', async (t) => {
  t.equal(auditLevel({ event: 'rejected' }), 'warn');
  t.equal(auditLevel({ event: 'failed' }), 'error');
  t.equal(auditLevel({ event: 'deploy-failed' }), 'error');
  t.equal(auditLevel({ event: 'rolled-back' }), 'warn', 'an automatic fallback is worth a look');
  t.equal(auditLevel({ event: 'rolled-back', actor: 'api' }), 'info', "an operator's own rollback is routine");
  for (const e of ['detected', 'accepted', 'installed', 'duplicate', 'deployed', 'removed', 'retry', 'gone'] as const)
    t.equal(auditLevel({ event: e }), 'info', e);
});

t.test('with journal on, each line starts with its priority; off (a pipe, a terminal), plain JSON', async (t) => {
  const collect = (journal: boolean) => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter(Boolean)));
    return { loggers: createLoggers('info', out, { journal }), lines };
  };
  const on = collect(true);
  on.loggers.log.info('routine');
  on.loggers.log.warn('odd');
  on.loggers.audit.error({ audit: 'failed' }, 'audit: failed');
  on.loggers.log.debug('below the level: not written');
  t.same(
    on.lines.map((l) => l.slice(0, 14)),
    ['<6>{"level":30', '<4>{"level":40', '<3>{"level":50'],
  );
  t.same(JSON.parse(on.lines[1]!.slice(3)).msg, 'odd', 'after the prefix, the same JSON line');
  const off = collect(false);
  off.loggers.log.warn('odd');
  t.match(off.lines[0], /^\{"level":40,/);
  const sink: string[] = [];
  const prefixed = journalPrefixed({ write: (s: string) => sink.push(s) });
  prefixed.lastLevel = 60;
  prefixed.write('{"level":60}\n');
  t.same(sink, ['<2>{"level":60}\n']);
});

t.test('JOURNAL_STREAM counts only when it names the very stream fd 1 is', async (t) => {
  const dir = t.testdir();
  const fd = openSync(path.join(dir, 'out'), 'w');
  t.teardown(() => closeSync(fd));
  const st = fstatSync(fd, { bigint: true });
  t.ok(stdoutIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), 'the same device and inode');
  t.notOk(stdoutIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd), 'inherited, but stdout was redirected since');
  t.notOk(stdoutIsJournal({}, fd), 'not under systemd');
});

// What runs inside the private mount namespace: a journald of its own, then the daemon as systemd would run it.
const NAMESPACE_SCRIPT = String.raw`
set -eu
daemon=
for d in /run/systemd /run/log /var/log/journal; do mkdir -p "$d"; mount -t tmpfs tmpfs "$d"; done
"$JOURNALD" &
journald=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; kill $journald; wait $journald 2>/dev/null' EXIT
for i in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
# As systemd does for a service: stdout and stderr are a stream to journald that reads <N> prefixes, and
# JOURNAL_STREAM names it (device:inode of the shell's fd 1, which the daemon inherits).
systemd-cat -t "$IDENT" --level-prefix=true sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1) exec "$NODE" "$AIRLOCK" daemon --config "$CONFIG"' &
daemon=$!
for i in $(seq 600); do
  if journalctl -q -t "$IDENT" -o cat | grep -q '"audit":"installed"' && journalctl -q -t "$IDENT" -o cat | grep -q '"audit":"rejected"'; then break; fi
  sleep 0.1
done
journalctl -q -t "$IDENT" -o json > "$OUT/all.json"
journalctl -q -t "$IDENT" -p warning -o json > "$OUT/warning.json"
`;

interface JournalEntry {
  MESSAGE: string;
  PRIORITY: string;
}

const parseJournal = (text: string): JournalEntry[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry);

function journaldMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a private mount namespace for journald)';
  if (!existsSync(JOURNALD)) return `${JOURNALD} is missing (Debian package systemd)`;
  return undefined;
}

t.test('under journald, journalctl -p warning shows the rejection and not the install', async (t) => {
  const missing = journaldMissing();
  if (missing) {
    if (process.env.CI === 'true') t.fail(`the journald test must run under CI: ${missing}`);
    else t.plan(0, missing);
    return;
  }
  const base = scratchDir(t);
  const key = makeKey(path.join(base, 'keys'), 'release');
  const allowedSigners = writeAllowedSigners(path.join(base, 'allowed_signers'), [{ principals: 'release@airlock.test', key }]);
  const drop = path.join(base, 'drop');
  const files = [{ path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') }];
  await writeDirBundle(path.join(drop, 'good'), {
    files,
    manifest: manifestFor(files, { id: 'journal-good-1', name: 'test/journal-good', sequence: 1 }),
    signers: [key],
  });
  await writeDirBundle(path.join(drop, 'tampered'), {
    files,
    manifest: manifestFor(files, { id: 'journal-bad-1', name: 'test/journal-bad', sequence: 1 }),
    signers: [key],
  });
  const victim = path.join(drop, 'tampered', 'payload', 'config.json');
  // Same size, one byte flipped: the drop looks complete, and its hash is wrong.
  const bytes = await fsp.readFile(victim);
  bytes[3] = bytes[3]! ^ 0x20;
  await fsp.writeFile(victim, bytes);
  const config = path.join(base, 'config.json');
  await fsp.writeFile(
    config,
    JSON.stringify({
      dropFolders: [drop],
      mediaRoots: [],
      store: path.join(base, 'store'),
      trust: { allowedSigners, threshold: 1 },
      quietPeriodMs: 300,
      api: { host: '127.0.0.1', port: 0, tokenFile: path.join(base, 'api-token') },
      runtime: { kind: 'none' },
    }),
  );
  const out = path.join(base, 'journal');
  await fsp.mkdir(out);
  const ident = `airlock-test-${process.pid}`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', NAMESPACE_SCRIPT], {
    env: {
      ...process.env,
      JOURNALD,
      IDENT: ident,
      NODE: process.execPath,
      AIRLOCK: AIRLOCK_BIN,
      CONFIG: config,
      OUT: out,
      AIRLOCK_SYSTEM_CONFIG: '/nonexistent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, `the namespace script ran (stderr: ${stderr.slice(-2000)})`);

  const all = parseJournal(await fsp.readFile(path.join(out, 'all.json'), 'utf8'));
  const warnings = parseJournal(await fsp.readFile(path.join(out, 'warning.json'), 'utf8'));
  t.ok(all.length > 3, `${all.length} lines in the journal`);
  for (const e of all) t.match(e.MESSAGE, /^\{"level":\d+,/, 'the prefix is gone: each message is the JSON line');
  const audit = (entries: JournalEntry[], event: string) => entries.find((e) => (JSON.parse(e.MESSAGE) as { audit?: string }).audit === event);
  t.match(audit(all, 'installed'), { PRIORITY: '6' }, 'an install is info');
  t.match(audit(all, 'detected'), { PRIORITY: '6' });
  const rejected = audit(warnings, 'rejected');
  t.match(rejected, { PRIORITY: '4' }, 'journalctl -p warning shows the rejection');
  t.match(JSON.parse(rejected?.MESSAGE ?? '{}'), { code: 'HASH_MISMATCH', name: 'test/journal-bad', level: 40 });
  t.notOk(audit(warnings, 'installed'), 'and not the install');
  t.ok(
    warnings.every((e) => Number(e.PRIORITY) <= 4),
    'only warnings and worse',
  );
  t.match(warnings.map((e) => e.MESSAGE).join('\n'), /audit: rejected test\/journal-bad HASH_MISMATCH/, 'naming the bundle and the code');
});
