// FsEventSource over chokidar 4: one watcher per root, bounded depth, hidden names ignored.
import { watch, type FSWatcher } from 'chokidar';
import { isIgnoredPath } from './candidates.js';
import type { FsEvent, FsEventSource, WatchRoot } from './fs-events.js';

const EVENTS = ['add', 'addDir', 'change', 'unlink', 'unlinkDir'] as const;

export function createChokidarSource(): FsEventSource {
  const watchers: FSWatcher[] = [];
  // Roots still doing their initial scan: chokidar keeps opening fs.watch handles until 'ready',
  // even after close(), so close() waits for them first.
  const settling = new Set<Promise<void>>();
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
    const ready = new Promise<void>((resolve) => w.once('ready', () => resolve()));
    settling.add(ready);
    await ready;
    settling.delete(ready);
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
      await Promise.all(settling);
      await Promise.all(watchers.splice(0).map((w) => w.close()));
    },
  };
}
