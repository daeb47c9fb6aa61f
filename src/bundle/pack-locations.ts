// Where pack may write: checked before any work so a wrong --out costs nothing.
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { PackOptions } from './pack-options.js';

/** DEST must not be inside SOURCE (pack would read its own output); a dir-form DEST must be absent or empty. */
export async function checkLocations(opts: PackOptions): Promise<void> {
  const st = await stat(opts.source).catch(() => undefined);
  if (!st?.isDirectory()) throw new AirlockError('USAGE', `SOURCE ${opts.source} is not a directory`, { path: opts.source });
  const source = await realpath(opts.source);
  const out = await realpathOfNearest(opts.out);
  const prefix = source.endsWith(path.sep) ? source : source + path.sep;
  if (out === source || out.startsWith(prefix))
    throw new AirlockError('USAGE', `--out ${opts.out} is inside SOURCE ${opts.source}`, { path: '--out' });
  const existing = await stat(opts.out).catch(() => undefined);
  if (opts.form === 'dir' && existing && (!existing.isDirectory() || (await readdir(opts.out)).length > 0)) {
    throw new AirlockError('USAGE', `--out ${opts.out} exists and is not an empty directory`, { path: '--out' });
  }
  if (opts.form !== 'dir' && existing && !existing.isDirectory())
    throw new AirlockError('USAGE', `--out ${opts.out} is not a directory`, { path: '--out' });
}

// Resolve symlinks in the longest existing prefix, so a DEST that does not exist yet is still compared honestly.
async function realpathOfNearest(p: string): Promise<string> {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(await realpath(cur), ...rest);
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}
