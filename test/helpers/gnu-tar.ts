// GNU tar as the reference reading of a tar: what it lists, and what it extracts.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GnuEntry {
  type: string;
  size: number;
  name: string;
}

/** `tar -tvf` with raw names, one entry per line. */
export async function gnuList(file: string): Promise<GnuEntry[]> {
  const { stdout } = await run('tar', ['--quoting-style=literal', '--numeric-owner', '-tvf', file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S)\S{9} +\S+ +(\d+) \S+ \S+ (.*)$/.exec(line);
      if (!m) throw new Error(`cannot read tar -tvf line: ${line}`);
      return { type: m[1]!, size: Number(m[2]), name: m[3]! };
    });
}

/** Extract with GNU tar into `dir`; the sha256 of each regular file it wrote, by tar path. */
export async function gnuExtract(file: string, dir: string): Promise<Map<string, string>> {
  await fsp.mkdir(dir, { recursive: true });
  await run('tar', ['-xf', file, '-C', dir, '--no-same-owner']);
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile())
        out.set(
          p,
          createHash('sha256')
            .update(await fsp.readFile(path.join(dir, p)))
            .digest('hex'),
        );
      else out.set(p, `(${e.isSymbolicLink() ? 'symlink' : 'special'})`);
    }
  };
  await walk('');
  return out;
}

/** Checks GNU tar's reading of an accepted tar bundle against its manifest; returns what differs. */
export async function gnuDisagreements(tarFile: string, scratch: string): Promise<string[]> {
  let listing: GnuEntry[];
  let extracted: Map<string, string>;
  try {
    listing = await gnuList(tarFile);
    extracted = await gnuExtract(tarFile, scratch);
  } catch (err) {
    return [`GNU tar refuses the archive: ${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`];
  }
  const problems: string[] = [];
  const manifestBytes = await fsp.readFile(path.join(scratch, 'airlock.json')).catch(() => undefined);
  if (!manifestBytes) return ['GNU tar extracts no airlock.json'];
  if (listing[0]?.name !== 'airlock.json') problems.push(`GNU tar lists ${listing[0]?.name} first`);
  const m = JSON.parse(manifestBytes.toString()) as {
    files: Array<{ path: string; size?: number; sha256?: string; type?: string; omitted?: boolean }>;
    images: Array<{ archive: string; size: number; sha256: string }>;
  };
  const expected = new Map<string, { size: number; sha256: string }>();
  for (const f of m.files) if (f.type !== 'symlink' && !f.omitted) expected.set(`payload/${f.path}`, { size: f.size!, sha256: f.sha256! });
  for (const i of m.images) expected.set(i.archive, { size: i.size, sha256: i.sha256 });
  const listed = listing.filter((e) => e.name !== 'airlock.json' && !e.name.startsWith('signatures/'));
  if (listed.length !== expected.size) problems.push(`GNU tar lists ${listed.length} payload entries, the manifest ${expected.size}`);
  for (const e of listed) {
    const want = expected.get(e.name);
    if (!want) problems.push(`GNU tar lists ${e.name}, which the manifest does not`);
    else if (e.type !== '-' || e.size !== want.size)
      problems.push(`GNU tar lists ${e.name} as ${e.type} of ${e.size} bytes, the manifest ${want.size}`);
    else if (extracted.get(e.name) !== want.sha256) problems.push(`GNU tar extracts other bytes for ${e.name}`);
  }
  for (const [p, digest] of extracted) {
    if (p === 'airlock.json' || p.startsWith('signatures/')) continue;
    if (!expected.has(p)) problems.push(`GNU tar extracts ${p} (${digest}), which the manifest does not list`);
  }
  return problems;
}
