// chokidar reports a new folder, reads it, and only then starts watching it: a file written in between
// (`mkdir -p` and a quick copy, a stick's whole tree appearing at once) is never reported. The chokidar
// source therefore reads every new folder itself as well, within the root's depth bound, and reports the
// bundle files it finds there as added. Only names that can start a bundle matter for discovery.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { candidateForFile, isIgnoredPath } from './candidates.js';
import type { WatchRoot } from './fs-events.js';

/** Files below `dir` (inside `root`) that name a bundle: airlock.json, *.airlock.tar, *.airlock.parts.json. */
export async function bundleFilesIn(root: WatchRoot, dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    // Like chokidar's depth: a folder N levels below the root is read when N ≤ depth.
    if (path.relative(root.path, d).split(path.sep).length > root.depth) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return; // gone again, or unreadable: chokidar reports what it can
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (isIgnoredPath(root.path, p)) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && candidateForFile(root.path, p, root.media)) found.push(p);
    }
  };
  if (!isIgnoredPath(root.path, dir) && dir !== root.path) await walk(dir);
  return found;
}
