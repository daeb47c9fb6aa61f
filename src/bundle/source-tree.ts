// SOURCE as pack walked it, reopened by descriptor: every folder is reached from the root's handle one level at
// a time (O_NOFOLLOW, through the parent's descriptor) and must be the folder the walk saw (device, inode); every
// file is opened through its folder's handle and must be the file the walk saw. A folder swapped for a symlink,
// or a file swapped for another file, a FIFO or a link, fails with SOURCE_INVALID; nothing outside is read.
import path from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import type { DirHandle } from '../safe-fs/dir-handle.js';
import type { FileIdentity, OpenedRegular } from '../safe-fs/open-regular.js';
import type { SourceEntry, SourceFile } from './source-entry.js';

/** Folder handles kept open between files: the walk is in path order, so the folders in use are few. */
const CACHED_DIRS = 32;

interface Slot {
  handle: Promise<DirHandle>;
  users: number;
}

export class SourceTree {
  private readonly cache = new Map<string, Slot>();

  constructor(
    private readonly root: DirHandle,
    /** sorted by path */
    readonly entries: SourceEntry[],
    /** each walked folder's identity, by tree-relative path */
    private readonly dirs: ReadonlyMap<string, FileIdentity>,
  ) {}

  /** Open a walked file: the very file the walk saw, a regular file, inside SOURCE. Caller closes it. */
  async openFile(file: SourceFile): Promise<OpenedRegular> {
    const dir = path.posix.dirname(file.path);
    return this.withDir(dir === '.' ? '' : dir, (d) =>
      d.openFile(path.posix.basename(file.path), file.path, { dev: file.dev, ino: file.ino }).catch((err: unknown) => {
        throw changedWhilePacked(err, file.path);
      }),
    );
  }

  async close(): Promise<void> {
    const slots = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(
      slots.map((s) =>
        s.handle.then(
          (d) => d.close(),
          () => undefined,
        ),
      ),
    );
    await this.root.close();
  }

  private async withDir<T>(rel: string, fn: (d: DirHandle) => Promise<T>): Promise<T> {
    if (rel === '') return fn(this.root);
    const slot = this.acquire(rel);
    try {
      return await fn(await slot.handle);
    } finally {
      slot.users--;
      this.evict();
    }
  }

  private acquire(rel: string): Slot {
    let slot = this.cache.get(rel);
    if (slot)
      this.cache.delete(rel); // re-inserted below: the map's order is least recently used first
    else {
      slot = { handle: this.openDir(rel), users: 0 };
      const opened = slot;
      opened.handle.catch(() => {
        if (this.cache.get(rel) === opened) this.cache.delete(rel);
      });
    }
    slot.users++;
    this.cache.set(rel, slot);
    return slot;
  }

  private openDir(rel: string): Promise<DirHandle> {
    const parent = path.posix.dirname(rel);
    return this.withDir(parent === '.' ? '' : parent, async (p) => {
      const d = await p.openDir(path.posix.basename(rel), rel).catch((err: unknown) => {
        throw changedWhilePacked(err, rel);
      });
      const st = await d.stat();
      const seen = this.dirs.get(rel);
      if (!seen || st.dev !== seen.dev || st.ino !== seen.ino) {
        await d.close();
        throw new AirlockError('SOURCE_INVALID', `${rel} was replaced while SOURCE was being packed (not the folder that was walked)`, { path: rel });
      }
      return d;
    });
  }

  private evict(): void {
    for (const [rel, slot] of this.cache) {
      if (this.cache.size <= CACHED_DIRS) return;
      if (slot.users > 0) continue;
      this.cache.delete(rel);
      void slot.handle.then(
        (d) => d.close(),
        () => undefined,
      );
    }
  }
}

/** A refusal on the source tree (a swapped-in link, FIFO or other file, a vanished entry) in pack's code. */
export function changedWhilePacked(err: unknown, rel: string): unknown {
  if (isAirlockError(err) && err.code === 'WRONG_TYPE') {
    return new AirlockError('SOURCE_INVALID', `${err.message}; SOURCE changed while it was being packed`, { path: rel, cause: err });
  }
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EINVAL') {
    return new AirlockError('SOURCE_INVALID', `${rel} changed or disappeared while SOURCE was being packed`, { path: rel, cause: err });
  }
  return err;
}
