// Which stick a file lies on: the device of each folder between the watched root and the file (lstat, never
// following a link), handed to the pure rule in decisions.ts. Cached per folder: a mount's device does not
// change while it stays mounted (the cache is dropped when the folder goes).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { WatchRoot } from '../watcher/fs-events.js';
import { stickOf, type Stick } from './decisions.js';

export class StickLocator {
  private readonly cache = new Map<string, Stick>();

  async locate(root: WatchRoot, file: string): Promise<Stick> {
    const dir = path.dirname(file);
    const known = this.cache.get(dir);
    if (known) return known;
    const rootDev = (await fsp.stat(root.path)).dev;
    const chain: Array<{ path: string; dev: number }> = [];
    let cur = root.path;
    for (const seg of path
      .relative(root.path, dir)
      .split(path.sep)
      .filter((s) => s !== '')) {
      cur = path.join(cur, seg);
      const st = await fsp.lstat(cur).catch(() => undefined);
      if (!st) break;
      chain.push({ path: cur, dev: st.dev });
    }
    const stick = stickOf({ path: root.path, dev: rootDev, media: root.media }, chain);
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(dir, stick);
    return stick;
  }

  /** A folder went (a stick unmounted): what was cached below it is stale. */
  forget(p: string): void {
    for (const dir of [...this.cache.keys()]) if (dir === p || dir.startsWith(p + path.sep)) this.cache.delete(dir);
  }
}
