// The folders the daemon watches. chokidar does not follow a symlink given as a root (followSymlinks is off, so
// a link inside a drop cannot lead the daemon elsewhere), so a drop folder or media root that is itself a symlink
// was silently never read. Each root is resolved once, here, and watched by its real path; the link is not
// looked at again, so changing it later does not move the daemon.
import { promises as fsp } from 'node:fs';
import type { WatchedRootView } from '../api/context.js';
import type { LoadedConfig } from '../config/load-config.js';
import { AirlockError } from '../errors.js';
import type { WatchRoot } from '../watcher/fs-events.js';
import type { ArrivalTracker } from '../watcher/arrival-tracker.js';
import type { Loggers } from './logger.js';

export interface ResolvedRoots {
  roots: WatchRoot[];
  watched: WatchedRootView[];
  /** the drop folders by their real paths (what removeAfterInstall confines itself to) */
  dropFolders: string[];
}

type Log = Loggers['log'];

/** The real path of a folder, or CONFIG_INVALID naming it (a dangling link, a file). */
async function realFolder(p: string, what: string): Promise<string> {
  let real: string;
  try {
    real = await fsp.realpath(p);
  } catch (err) {
    throw new AirlockError('CONFIG_INVALID', `${what} ${p} cannot be resolved: ${(err as Error).message}`, { path: p, cause: err });
  }
  const st = await fsp.stat(real);
  if (!st.isDirectory()) throw new AirlockError('CONFIG_INVALID', `${what} ${p} is not a folder`, { path: p });
  return real;
}

function view(p: string, real: string, kind: 'drop' | 'media', depth: number, watching: boolean, log: Log): WatchedRootView {
  if (real !== p)
    log.info(
      { path: p, realPath: real, kind },
      `${kind === 'drop' ? 'drop folder' : 'media root'} ${p} is a symlink; watching its real path ${real}`,
    );
  return { path: p, ...(real === p ? {} : { realPath: real }), kind, depth, watching };
}

/** Create missing drop folders, resolve every root once; a media root that does not exist yet is left for later. */
export async function resolveWatchRoots(config: LoadedConfig['config'], log: Log): Promise<ResolvedRoots> {
  const out: ResolvedRoots = { roots: [], watched: [], dropFolders: [] };
  for (const p of config.dropFolders) {
    await fsp.mkdir(p, { recursive: true }).catch(async (err: unknown) => {
      // A dangling symlink or a file in the way: realFolder names the problem (CONFIG_INVALID).
      if (!(await fsp.lstat(p).catch(() => undefined))) throw err;
    });
    const real = await realFolder(p, 'drop folder');
    out.roots.push({ path: real, depth: config.dropDepth, media: false });
    out.watched.push(view(p, real, 'drop', config.dropDepth, true, log));
    out.dropFolders.push(real);
  }
  for (const p of config.mediaRoots) {
    const present = await fsp.stat(p).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const real = present ? await realFolder(p, 'media root') : p;
    if (present) out.roots.push({ path: real, depth: config.mediaDepth, media: true });
    out.watched.push(view(p, real, 'media', config.mediaDepth, present, log));
  }
  return out;
}

/** /run/media/USER is often created by the first mount: watch media roots that appeared since start-up. */
export async function watchNewMediaRoots(tracker: ArrivalTracker, watched: WatchedRootView[], depth: number, log: Log): Promise<void> {
  for (const [i, w] of watched.entries()) {
    if (w.watching || w.kind !== 'media') continue;
    if (
      !(await fsp.stat(w.path).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      continue;
    try {
      const real = await realFolder(w.path, 'media root');
      await tracker.addRoot({ path: real, depth, media: true });
      // Shown as watched once the initial scan is done, so what it holds is already seen.
      watched[i] = view(w.path, real, 'media', depth, true, log);
      log.info({ path: w.path }, 'media root appeared; now watched');
    } catch (err) {
      log.warn({ err, path: w.path }, 'cannot watch media root');
    }
  }
}
