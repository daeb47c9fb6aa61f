// The narrow source of file-system events the arrival tracker consumes; chokidar sits behind it.
export interface WatchRoot {
  path: string;
  /** directory levels watched below the root */
  depth: number;
  /** a removable-media root (never modified) */
  media: boolean;
}

export interface FsEvent {
  type: 'add' | 'addDir' | 'change' | 'unlink' | 'unlinkDir';
  path: string;
  root: WatchRoot;
}

export interface FsEventSource {
  /** Start watching; resolves once the initial scan of every root has been reported. */
  start(roots: WatchRoot[], onEvent: (e: FsEvent) => void, onError: (err: Error, root: WatchRoot) => void): Promise<void>;
  /** Watch one more root (a media root that appeared after start, e.g. /run/media on the first mount). */
  add(root: WatchRoot): Promise<void>;
  close(): Promise<void>;
}
