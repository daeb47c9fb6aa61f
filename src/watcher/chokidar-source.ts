// FsEventSource over chokidar 4: one watcher per root, bounded depth, hidden names ignored.
import { watch, type FSWatcher } from 'chokidar';
import { isIgnoredPath } from './candidates.js';
import type { FsEvent, FsEventSource, WatchRoot } from './fs-events.js';

const EVENTS = ['add', 'addDir', 'change', 'unlink', 'unlinkDir'] as const;

export function createChokidarSource(): FsEventSource {
  const watchers: FSWatcher[] = [];
  // No watcher is started once closed (a media root found while the daemon stops).
  let closed = false;
  let emit: (e: FsEvent) => void = () => {};
  let fail: (err: Error, root: WatchRoot) => void = () => {};

  const watchRoot = async (root: WatchRoot): Promise<void> => {
    if (closed) return;
    const w = watch(root.path, {
      depth: root.depth,
      // Our own quiet-period logic decides completeness; polling would stat multi-GB trees needlessly.
      usePolling: false,
      awaitWriteFinish: false,
      ignoreInitial: false,
      followSymlinks: false,
      ignorePermissionErrors: true,
      ignored: (p: string) => isIgnoredPath(root.path, p),
    });
    watchers.push(w);
    for (const type of EVENTS) w.on(type, (p: string) => emit({ type, path: p, root } satisfies FsEvent));
    w.on('error', (err: unknown) => fail(err instanceof Error ? err : new Error(String(err)), root));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  };

  return {
    async start(roots, onEvent, onError) {
      emit = onEvent;
      fail = onError;
      await Promise.all(roots.map(watchRoot));
    },
    add: watchRoot,
    async close() {
      closed = true;
      await Promise.all(watchers.splice(0).map((w) => w.close()));
    },
  };
}
