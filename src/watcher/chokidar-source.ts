// FsEventSource over chokidar 4: one watcher per root, bounded depth, hidden names ignored.
import { watch, type FSWatcher } from 'chokidar';
import { isIgnoredPath } from './candidates.js';
import type { FsEvent, FsEventSource, WatchRoot } from './fs-events.js';
import { bundleFilesIn } from './scan-new-dir.js';

// A new folder is read again this long after chokidar reported it, by when chokidar watches it.
const RESCAN_AFTER_MS = 1000;

const EVENTS = ['add', 'addDir', 'change', 'unlink', 'unlinkDir'] as const;

export function createChokidarSource(): FsEventSource {
  const watchers: FSWatcher[] = [];
  // No watcher is started once closed (a media root found while the daemon stops).
  let closed = false;
  let emit: (e: FsEvent) => void = () => {};
  let fail: (err: Error, root: WatchRoot) => void = () => {};
  const timers = new Set<NodeJS.Timeout>();

  // What chokidar may miss in a new folder (see scan-new-dir.ts), reported as added; duplicates are harmless.
  const scanNewDir = (root: WatchRoot, dir: string): void => {
    const scan = () =>
      void bundleFilesIn(root, dir).then((files) => {
        if (!closed) for (const p of files) emit({ type: 'add', path: p, root });
      });
    scan();
    const timer = setTimeout(() => {
      timers.delete(timer);
      scan();
    }, RESCAN_AFTER_MS);
    timer.unref();
    timers.add(timer);
  };

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
    // The initial scan is chokidar's own; folders added after it are read again.
    let ready = false;
    for (const type of EVENTS) w.on(type, (p: string) => emit({ type, path: p, root } satisfies FsEvent));
    w.on('addDir', (p: string) => {
      if (!closed && ready) scanNewDir(root, p);
    });
    w.on('error', (err: unknown) => fail(err instanceof Error ? err : new Error(String(err)), root));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    ready = true;
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
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(watchers.splice(0).map((w) => w.close()));
    },
  };
}
