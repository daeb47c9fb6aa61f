// Make the staged tree the same on every build machine (modes, timestamps) and check what it holds.
import { chmod, lutimes, open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';
import { containsPrivateKey, forbiddenReleasePaths, isElf, releaseFileMode } from './tree-rules.js';

export interface TreeEntry {
  /** Relative to the tree, `/` separators. */
  rel: string;
  dir: boolean;
  /** A symlink (only the .deb's /usr/bin/airlock): its time is set, nothing else. */
  link?: true;
  size: number;
  mode: number;
}

/** Larger files are binaries or archives, never a key someone left behind. */
const SCAN_LIMIT = 16 * 1024 * 1024;

/**
 * Walk `dir`: folders 0755, files by releaseFileMode, every mtime `epoch`. With `check` (the release tree
 * itself), refuse what must not ship: forbidden paths, a private key in any file.
 */
export async function normalizeTree(dir: string, epoch: number, check = true): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  await chmod(dir, 0o755);
  await walk(dir, '', epoch, entries, check);
  if (!check) return entries;
  const forbidden = forbiddenReleasePaths(entries.map((e) => (e.dir ? `${e.rel}/` : e.rel)));
  if (forbidden.length > 0) throw new AirlockError('RELEASE_INVALID', `the release tree holds what must never ship: ${forbidden.slice(0, 10).join(', ')}`, { path: forbidden[0] });
  return entries;
}

async function walk(root: string, rel: string, epoch: number, out: TreeEntry[], check: boolean): Promise<void> {
  const here = path.join(root, rel);
  for (const e of (await readdir(here, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const full = path.join(root, r);
    if (e.isDirectory()) {
      await walk(root, r, epoch, out, check);
      await chmod(full, 0o755);
      out.push({ rel: r, dir: true, size: 0, mode: 0o755 });
    } else if (e.isSymbolicLink()) {
      out.push({ rel: r, dir: false, link: true, size: 0, mode: 0o777 });
    } else {
      const head = await readHead(full);
      const mode = releaseFileMode(r, head);
      const { size } = await stat(full);
      if (check && !isElf(head) && size <= SCAN_LIMIT && containsPrivateKey(await readFile(full, 'latin1'))) {
        throw new AirlockError('RELEASE_INVALID', `${r} holds a private key; a release never carries one`, { path: r });
      }
      await chmod(full, mode);
      out.push({ rel: r, dir: false, size, mode });
    }
    await lutimes(full, epoch, epoch);
  }
  await lutimes(here, epoch, epoch);
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
