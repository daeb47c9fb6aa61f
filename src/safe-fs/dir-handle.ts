// Directories held open by descriptor, so every lookup below them is confined: Node has no openat(2), but on
// Linux "/proc/self/fd/N/NAME" resolves NAME inside the directory descriptor N holds, whatever has happened to
// the path it was opened by since. Opening each level with O_DIRECTORY | O_NOFOLLOW means a folder swapped for
// a symlink mid-walk is refused instead of followed: nothing outside the tree is read, listed or removed.
import { constants, promises as fsp, type Stats } from 'node:fs';
import { AirlockError } from '../errors.js';
import { openFailure, openRegular, type FileIdentity, type OpenedRegular } from './open-regular.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** A single path segment: never empty, `.`, `..` or containing `/` or NUL. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export class DirHandle {
  private closed = false;

  private constructor(
    private readonly fh: fsp.FileHandle,
    /** how the directory is named in messages */
    readonly shownAs: string,
  ) {}

  /**
   * Open a trusted starting point (a configured drop folder, a path typed by the user). Symlinks in `dir`
   * itself are followed unless `noFollow`: the confinement applies below it.
   */
  static async open(dir: string, opts: { shownAs?: string; noFollow?: boolean } = {}): Promise<DirHandle> {
    const shownAs = opts.shownAs ?? dir;
    try {
      return new DirHandle(await fsp.open(dir, DIR_FLAGS | (opts.noFollow ? constants.O_NOFOLLOW : 0)), shownAs);
    } catch (err) {
      throw dirOpenFailure(err, shownAs);
    }
  }

  /** The path that names `name` inside this directory, through the descriptor (usable by any thread of this process). */
  child(name: string): string {
    if (!isPlainName(name)) throw new AirlockError('BAD_PATH', `${JSON.stringify(name)} is not a plain file name`, { path: this.label(name) });
    return `${this.self()}/${name}`;
  }

  /** This directory itself, through its descriptor. */
  self(): string {
    if (this.closed) throw new Error(`directory handle for ${this.shownAs} used after close`);
    return `/proc/self/fd/${this.fh.fd}`;
  }

  label(name: string): string {
    return this.shownAs === '' ? name : `${this.shownAs}/${name}`;
  }

  /** The folder's names, at most `max` of them (a hostile folder can hold millions). */
  async list(max = Infinity): Promise<string[]> {
    if (max === Infinity) return fsp.readdir(this.self());
    const names: string[] = [];
    const dir = await fsp.opendir(this.self(), { bufferSize: 256 });
    try {
      for (let d = await dir.read(); d && names.length < max; d = await dir.read()) names.push(d.name);
    } finally {
      await dir.close();
    }
    return names;
  }

  /** lstat of an entry (never follows it); undefined when it does not exist. */
  async lstat(name: string): Promise<Stats | undefined> {
    return fsp.lstat(this.child(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
  }

  async stat(): Promise<Stats> {
    return this.fh.stat();
  }

  /** Open a sub-folder, refusing a symlink or anything else that is not a directory (WRONG_TYPE). */
  async openDir(name: string, shownAs = this.label(name)): Promise<DirHandle> {
    try {
      return new DirHandle(await fsp.open(this.child(name), DIR_FLAGS | constants.O_NOFOLLOW), shownAs);
    } catch (err) {
      throw dirOpenFailure(err, shownAs);
    }
  }

  /** Open a nested folder one level at a time (`a/b/c`), each level refused if it is a symlink. */
  async openPath(rel: string, shownAs?: string): Promise<DirHandle> {
    const names = rel.split('/').filter((n) => n !== '' && n !== '.');
    let here: DirHandle = this;
    try {
      for (const [i, name] of names.entries()) {
        const label = shownAs !== undefined && i === names.length - 1 ? shownAs : here.label(name);
        const next = await here.openDir(name, label);
        if (here !== this) await here.close();
        here = next;
      }
    } catch (err) {
      if (here !== this) await here.close();
      throw err;
    }
    return here === this ? DirHandle.open(this.self(), { shownAs: shownAs ?? this.shownAs }) : here;
  }

  /** Open a regular file in this folder without blocking or following links (see openRegular). */
  openFile(name: string, shownAs = this.label(name), expect?: FileIdentity): Promise<OpenedRegular> {
    return openRegular(this.child(name), shownAs, expect);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

function dirOpenFailure(err: unknown, shownAs: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOTDIR') return new AirlockError('WRONG_TYPE', `${shownAs} is not a directory`, { path: shownAs, cause: err });
  return openFailure(err, shownAs);
}

/** Run `fn` with an open handle on `dir`, closing it however `fn` ends. */
export async function withDir<T>(dir: string, fn: (d: DirHandle) => Promise<T>, opts: { shownAs?: string; noFollow?: boolean } = {}): Promise<T> {
  const d = await DirHandle.open(dir, opts);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}
