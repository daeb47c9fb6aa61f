// Seeded fuzzing of every bundle form (issue 11): mutate valid bundles (manifest bytes, tar headers, sizes,
// types, order, special files in place of regular ones) and check, for each mutant, that `verify` and
// `install` finish within a deadline, exit 0, 1 or 2 only, write nothing outside the store, and activate
// only bundles whose installed bytes equal the signed ones; and that any tar airlock accepts reads the same
// in GNU tar. AIRLOCK_FUZZ_SEED and AIRLOCK_FUZZ_COUNT (mutants per form) replay or widen a run.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { airlock } from './helpers/cli.js';
import { fixturePath, packFixture, type PackedFixture } from './helpers/fixtures.js';
import { gnuDisagreements } from './helpers/gnu-tar.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

const SEED = Number(process.env['AIRLOCK_FUZZ_SEED'] ?? 20261202);
const COUNT = Number(process.env['AIRLOCK_FUZZ_COUNT'] ?? 14);
const DEADLINE_MS = 60_000;

/** mulberry32: small, seeded, good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof prng>;
const pick = <T>(r: Rand, xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, p)));
    else out.push(p);
  }
  return out.sort();
}

/** What a folder holds, by lstat and (regular files only) content: a FIFO is never opened. */
async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const p of await filesUnder(dir)) {
    const st = await fsp.lstat(path.join(dir, p));
    lines.push(
      `${p} ${st.mode} ${st.size} ${st.isFile() ? sha(await fsp.readFile(path.join(dir, p))) : st.isSymbolicLink() ? await fsp.readlink(path.join(dir, p)) : '-'}`,
    );
  }
  return lines.join('\n');
}

function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at] = out[at]! ^ (1 + Math.floor((at * 31) % 255));
  return out;
}

function fixChecksum(b: Buffer, h: number): void {
  b.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = h; i < h + 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', h + 148, 'latin1');
}

/** Offsets of the blocks that look like ustar headers. */
function headerOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 512 <= b.length; i += 512) if (b.toString('latin1', i + 257, i + 262) === 'ustar') out.push(i);
  return out;
}

const tarMutations: Array<[string, (b: Buffer, r: Rand) => Buffer]> = [
  ['flip a byte anywhere', (b, r) => flip(b, Math.floor(r() * b.length))],
  [
    'flip a header byte and fix its checksum',
    (b, r) => {
      const h = pick(r, headerOffsets(b));
      const out = flip(b, h + Math.floor(r() * 148));
      fixChecksum(out, h);
      return out;
    },
  ],
  [
    'change an entry type',
    (b, r) => {
      const h = pick(r, headerOffsets(b));
      const out = Buffer.from(b);
      out[h + 156] = pick(r, [...'0123456xgLK5S7V']).charCodeAt(0);
      fixChecksum(out, h);
      return out;
    },
  ],
  [
    'lie about a size',
    (b, r) => {
      const h = pick(r, headerOffsets(b));
      const out = Buffer.from(b);
      out.write(
        Math.floor(r() * 20000)
          .toString(8)
          .padStart(11, '0') + '\0',
        h + 124,
        'latin1',
      );
      fixChecksum(out, h);
      return out;
    },
  ],
  ['cut it short', (b, r) => b.subarray(0, Math.floor(r() * b.length))],
  ['cut it at a block boundary', (b, r) => b.subarray(0, 512 * Math.floor((r() * b.length) / 512))],
  [
    'append junk after the end',
    (b, r) => Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(r() * 2000) }, () => Math.floor(r() * 256)))]),
  ],
  [
    'insert a zero block before an entry',
    (b, r) => {
      const h = pick(r, headerOffsets(b).slice(1));
      return Buffer.concat([b.subarray(0, h), Buffer.alloc(512), b.subarray(h)]);
    },
  ],
  [
    'repeat an entry at the end',
    (b, r) => {
      const hs = headerOffsets(b);
      const i = Math.floor(r() * hs.length);
      const end = hs[i + 1] ?? b.length - 1024;
      return Buffer.concat([b.subarray(0, b.length - 1024), b.subarray(hs[i]!, end), Buffer.alloc(1024)]);
    },
  ],
  [
    'move the last entry first',
    (b) => {
      const hs = headerOffsets(b);
      const last = hs[hs.length - 1]!;
      return Buffer.concat([b.subarray(last, b.length - 1024), b.subarray(0, last), Buffer.alloc(1024)]);
    },
  ],
];

async function mutateDir(dir: string, r: Rand): Promise<string> {
  const files = (await filesUnder(dir)).filter((p) => p.startsWith('payload/'));
  const target = path.join(dir, pick(r, files));
  const kind = pick(r, [
    'flip a payload byte',
    'fifo for a file',
    'symlink for a file',
    'folder for a file',
    'unlisted file',
    'remove a file',
    'flip a manifest byte',
    'fifo for a signature',
    'fifo beside the manifest',
  ] as const);
  switch (kind) {
    case 'flip a payload byte': {
      const b = await fsp.readFile(target);
      if (b.length > 0) await fsp.writeFile(target, flip(b, Math.floor(r() * b.length)));
      break;
    }
    case 'fifo for a file':
      await fsp.rm(target);
      execFileSync('mkfifo', [target]);
      break;
    case 'symlink for a file':
      await fsp.rm(target);
      await fsp.symlink('/etc/passwd', target);
      break;
    case 'folder for a file':
      await fsp.rm(target);
      await fsp.mkdir(target);
      break;
    case 'unlisted file':
      await fsp.writeFile(path.join(path.dirname(target), 'backdoor.py'), 'import os\n');
      break;
    case 'remove a file':
      await fsp.rm(target);
      break;
    case 'flip a manifest byte': {
      const m = path.join(dir, 'airlock.json');
      const b = await fsp.readFile(m);
      await fsp.writeFile(m, flip(b, Math.floor(r() * b.length)));
      break;
    }
    case 'fifo for a signature': {
      const sigs = await fsp.readdir(path.join(dir, 'signatures'));
      const s = path.join(dir, 'signatures', pick(r, sigs));
      await fsp.rm(s);
      execFileSync('mkfifo', [s]);
      break;
    }
    case 'fifo beside the manifest':
      execFileSync('mkfifo', [path.join(dir, 'extra-fifo')]);
      break;
  }
  return kind;
}

async function mutateSplit(dir: string, r: Rand): Promise<string> {
  const names = (await fsp.readdir(dir)).sort();
  const parts = names.filter((n) => /\.airlock\.tar\.\d{3}$/.test(n));
  const part = path.join(dir, pick(r, parts));
  const kind = pick(r, ['flip a part byte', 'cut a part short', 'swap two parts', 'flip an index byte', 'fifo for a part'] as const);
  switch (kind) {
    case 'flip a part byte': {
      const b = await fsp.readFile(part);
      await fsp.writeFile(part, flip(b, Math.floor(r() * b.length)));
      break;
    }
    case 'cut a part short': {
      const b = await fsp.readFile(part);
      await fsp.writeFile(part, b.subarray(0, Math.floor(r() * b.length)));
      break;
    }
    case 'swap two parts': {
      const other = path.join(dir, pick(r, parts));
      await fsp.rename(part, `${part}.tmp`);
      await fsp.rename(other, part).catch(() => undefined);
      await fsp.rename(`${part}.tmp`, other);
      break;
    }
    case 'flip an index byte': {
      const index = path.join(
        dir,
        names.find((n) => n.endsWith('.parts.json'))!,
      );
      const b = await fsp.readFile(index);
      await fsp.writeFile(index, flip(b, Math.floor(r() * b.length)));
      break;
    }
    case 'fifo for a part':
      await fsp.rm(part);
      execFileSync('mkfifo', [part]);
      break;
  }
  return kind;
}

t.test(`mutated bundles never hang, never exit oddly, never touch the drop, never install other bytes (seed ${SEED})`, async (t) => {
  const root = t.testdir();
  const key = makeKey(path.join(root, 'keys'), 'release');
  const trust = writeAllowedSigners(path.join(root, 'allowed_signers'), [{ principals: 'release@test.invalid', key }]);
  const forms: Array<[string, PackedFixture]> = [
    ['dir', await packFixture(t, { fixture: 'model-dir', signKeys: [key.privatePath] })],
    ['tar', await packFixture(t, { fixture: 'model-dir', format: 'tar', signKeys: [key.privatePath] })],
    ['split', await packFixture(t, { fixture: 'model-dir', split: '8K', signKeys: [key.privatePath] })],
  ];
  const original = new Map<string, string>();
  for (const p of await filesUnder(fixturePath('model-dir'))) original.set(p, sha(await fsp.readFile(path.join(fixturePath('model-dir'), p))));
  const r = prng(SEED);
  let accepted = 0;
  let n = 0;
  for (const [form, packed] of forms) {
    for (let i = 0; i < COUNT; i++) {
      const work = path.join(root, `m${n++}`);
      const holder = form === 'dir' ? packed.location : path.dirname(packed.location);
      await fsp.cp(holder, path.join(work, 'drop'), { recursive: true });
      const location = path.join(work, 'drop', form === 'dir' ? '' : path.basename(packed.location));
      let what: string;
      if (form === 'dir') what = await mutateDir(location, r);
      else if (form === 'split') what = await mutateSplit(path.dirname(location), r);
      else {
        const [name, fn] = pick(r, tarMutations);
        await fsp.writeFile(location, fn(await fsp.readFile(location), r));
        what = name;
      }
      const label = `${form} #${i}: ${what}`;
      const before = await snapshot(path.join(work, 'drop'));
      const verify = await airlock(['verify', location, '--trust', trust], { timeoutMs: DEADLINE_MS });
      t.ok([0, 1, 2].includes(verify.exitCode), `${label}: verify exits 0/1/2 (${verify.exitCode}: ${verify.stderr.trim().slice(0, 200)})`);
      const store = path.join(work, 'store');
      const install = await airlock(['install', location, '--store', store, '--trust', trust, '--json'], { timeoutMs: DEADLINE_MS });
      t.ok([0, 1, 2].includes(install.exitCode), `${label}: install exits 0/1/2 (${install.exitCode})`);
      t.equal(install.exitCode === 0, verify.exitCode === 0, `${label}: install accepts exactly what verify accepts`);
      t.equal(await snapshot(path.join(work, 'drop')), before, `${label}: the drop is left exactly as it was`);
      t.same(
        (await fsp.readdir(work)).sort(),
        install.exitCode === 0 ||
          (await fsp.stat(store).then(
            () => true,
            () => false,
          ))
          ? ['drop', 'store']
          : ['drop'],
        `${label}: nothing written beside the store`,
      );
      if (install.exitCode === 0) {
        accepted++;
        const report = JSON.parse(install.stdout) as { path: string; manifestDigest: string };
        t.equal(report.manifestDigest, packed.manifestDigest, `${label}: the installed manifest is the signed one`);
        const installed = new Map<string, string>();
        for (const p of await filesUnder(report.path)) {
          const st = await fsp.lstat(path.join(report.path, p));
          if (st.isFile()) installed.set(p, sha(await fsp.readFile(path.join(report.path, p))));
        }
        for (const [p, digest] of installed) t.equal(digest, original.get(p), `${label}: installed ${p} holds the signed bytes`);
        if (form === 'tar') t.same(await gnuDisagreements(location, path.join(work, 'gnu')), [], `${label}: GNU tar reads the accepted tar the same`);
      }
      await fsp.rm(work, { recursive: true, force: true });
    }
  }
  t.comment(`${n} mutants, ${accepted} accepted (a mutation can leave a bundle valid: a flipped byte in padding, say)`);
});
