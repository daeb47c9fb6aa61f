// A store or folder airlock cannot write is a clear error naming the path and the way out, not a raw EACCES.
import path from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

interface Denial {
  code: string;
  path: string | undefined;
  syscall: string | undefined;
}

/**
 * The permission error behind `err` (itself, or a cause it wraps), if there is one. An error that already says
 * what went wrong (any code but IO_ERROR and INTERNAL, which only wrap) is left as it is.
 */
export function denialOf(err: unknown): Denial | undefined {
  if (isAirlockError(err) && err.code !== 'IO_ERROR' && err.code !== 'INTERNAL') return undefined;
  for (let e = err as (NodeJS.ErrnoException & { cause?: unknown }) | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && DENIED.has(e.code) && e.syscall !== undefined) return { code: e.code, path: e.path, syscall: e.syscall };
  }
  return undefined;
}

function why(d: Denial): string {
  return d.code === 'EROFS' ? 'is on a read-only file system' : `cannot be written by this user (uid ${process.getuid?.() ?? '?'})`;
}

/** Run `fn`, which writes into `store`; a permission error there becomes STORE_NOT_WRITABLE. */
export async function writableStore<T>(store: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const d = denialOf(err);
    const where = d?.path ?? store;
    const rel = path.relative(path.dirname(path.resolve(store)), path.resolve(where));
    if (!d || rel.startsWith('..') || path.isAbsolute(rel)) throw err;
    throw new AirlockError(
      'STORE_NOT_WRITABLE',
      `the store ${store} ${why(d)}: ${d.syscall} ${where} was refused (${d.code}). Run as the user that owns the store (for the daemon's store: sudo -u airlock airlock …), or give --store a folder this user can write`,
      { path: where, cause: err },
    );
  }
}

/**
 * Run `fn`, which writes `target` (pack --out, inventory --out, keygen PATH, a signatures folder, a cache): a
 * permission error there becomes NOT_WRITABLE, naming what was refused.
 */
export async function writableOutput<T>(target: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const d = denialOf(err);
    if (!d) throw err;
    const where = d.path ?? target;
    throw new AirlockError(
      'NOT_WRITABLE',
      `${target} ${why(d)}: ${d.syscall} ${where} was refused (${d.code}). Choose a place this user can write, or run as a user that may write there`,
      { path: where, cause: err },
    );
  }
}
