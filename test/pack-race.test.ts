// Issue 11 §3: pack raced into signing a file from outside SOURCE. A real child process swaps a sub-folder
// of SOURCE for a symlink to a folder outside it, back and forth as fast as it can, while packs run; no pack
// may ever carry an outside byte, and each either succeeds with inside bytes or fails with SOURCE_INVALID.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import type { FileEntry, Manifest } from '../src/format/manifest.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';

const run = promisify(execFile);

const FILES = 24;
const PACKS = 150;
// On a loaded machine (the swapper alone spins a core) 150 packs can outlast tap's timeout: the packer stops at
// this budget, and at least MIN_PACKS must have run for the race to count.
const BUDGET_MS = 240_000;
const MIN_PACKS = 10;
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

// The swapper: the attacker with write access to SOURCE. Each turn parks the real folder under another name
// inside SOURCE, puts an absolute symlink to the outside folder in its place, then undoes both. It never
// yields to its event loop (no signal handler could run), so it checks now and then that its parent lives.
const SWAPPER = `
const fs = require('node:fs');
const [sub, parked, outside] = process.argv.slice(1);
const parent = process.ppid;
for (let n = 0; ; n++) {
  try { fs.renameSync(sub, parked); fs.symlinkSync(outside, sub); fs.unlinkSync(sub); fs.renameSync(parked, sub); } catch {}
  if (n % 1000 === 0 && process.ppid !== parent) process.exit(0);
}`;

// The packer: PACKS real packs (or as many as BUDGET_MS allows) one after the other, in a child process of its own (hash workers started under
// tap's loader hooks take a second each), printing one JSON line per pack: {i, out, form, code?}.
const PACKER = `
const { packBundle } = await import(process.argv[2]);
const [source, outRoot, count, budgetMs] = process.argv.slice(3);
const until = Date.now() + Number(budgetMs);
for (let i = 0; i < Number(count) && Date.now() < until; i++) {
  const form = i % 3 === 0 ? 'tar' : 'dir';
  const out = outRoot + '/b' + i;
  const opts = { source, out, form, id: 'race-' + i, name: 'test/race', kind: 'model-dir', channel: 'stable', sequence: i + 1,
    created: new Date('2026-01-01T00:00:00Z'), profiles: [], images: [], signKeys: [] };
  let code;
  try { await packBundle(opts); } catch (err) { code = err.code ?? String(err); }
  process.stdout.write(JSON.stringify({ i, out, form, ...(code ? { code } : {}) }) + '\\n');
}`;

interface PackOutcome {
  i: number;
  out: string;
  form: 'dir' | 'tar';
  code?: string;
}

async function runPacker(dir: string, source: string, outRoot: string): Promise<PackOutcome[]> {
  const packModule = pathToFileURL(path.join(PACKAGE_ROOT, 'dist', 'src', 'bundle', 'pack.js')).href;
  // A script file, not -e: hash workers inherit the exec arguments, and --input-type is refused in a worker.
  const script = path.join(dir, 'packer.mjs');
  await fsp.writeFile(script, PACKER);
  const { stdout } = await run(process.execPath, [script, packModule, source, outRoot, String(PACKS), String(BUDGET_MS)], {
    env: childEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PackOutcome);
}

/** Every carried file's bytes, from the bundle pack wrote (dir form) or from its manifest's digests (both). */
async function carriedDigests(out: string, form: PackOutcome['form']): Promise<string[]> {
  if (form === 'dir') {
    const m = JSON.parse(await fsp.readFile(path.join(out, 'airlock.json'), 'utf8')) as Manifest;
    const files = m.files.filter((f): f is FileEntry => 'sha256' in f);
    const copied = await Promise.all(files.map(async (f) => sha256(await fsp.readFile(path.join(out, 'payload', f.path)))));
    return [...files.map((f) => f.sha256), ...copied];
  }
  // Tar form: the digests the manifest signs (hashed from the very bytes that went into the tar). airlock.json
  // is the first entry, a plain ustar header whose size field is 12 octal bytes at offset 124.
  const [tar] = (await fsp.readdir(out)).filter((n) => n.endsWith('.airlock.tar'));
  const bytes = await fsp.readFile(path.join(out, tar!));
  const size = parseInt(bytes.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  const m = JSON.parse(bytes.subarray(512, 512 + size).toString('utf8')) as Manifest;
  return m.files.filter((f): f is FileEntry => 'sha256' in f).map((f) => f.sha256);
}

t.test('a sub-folder swapped for a symlink to outside SOURCE while packs walk it is never packed', async (t) => {
  const inside: Record<string, string> = {};
  const outside: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    inside[`f${i}.bin`] = `inside bytes ${i}\n`;
    outside[`f${i}.bin`] = `SECRET outside SOURCE ${i}\n`;
  }
  const dir = t.testdir({ src: { 'top.txt': 'top\n', sub: inside }, outside, out: {} });
  const secrets = new Set(Object.values(outside).map(sha256));
  const swapper = spawn(
    process.execPath,
    ['-e', SWAPPER, path.join(dir, 'src', 'sub'), path.join(dir, 'src', 'sub.parked'), path.join(dir, 'outside')],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  let outcomes: PackOutcome[];
  try {
    outcomes = await runPacker(dir, path.join(dir, 'src'), path.join(dir, 'out'));
  } finally {
    // Stopped here, not in a teardown: tap removes the test folder first, and the swapper would refill it.
    swapper.kill('SIGKILL');
    await exited;
  }
  t.ok(outcomes.length >= MIN_PACKS, `${outcomes.length} packs ran to an end, each reported`);
  t.same(
    outcomes.map((o) => o.i),
    outcomes.map((_, i) => i),
    'none went missing',
  );
  const tally = { packed: 0, refused: 0 };
  for (const o of outcomes) {
    if (o.code !== undefined) {
      t.equal(o.code, 'SOURCE_INVALID', `pack ${o.i} failed only with SOURCE_INVALID`);
      tally.refused++;
      continue;
    }
    tally.packed++;
    const leaked = (await carriedDigests(o.out, o.form)).filter((d) => secrets.has(d));
    t.same(leaked, [], `pack ${o.i} (${o.form}) carried nothing from outside SOURCE`);
  }
  t.comment(`${tally.packed} packed with inside bytes only, ${tally.refused} refused with SOURCE_INVALID`);
});
