// What a payload walk hands on, between the bundle reader (src/bundle/payload-walk.ts) and whatever keeps the
// bytes (the store's staging): one listed entry as the manifest declares it, and the sink that receives it.

export interface Expected {
  path: string;
  size: number;
  sha256: string;
  /** 'payload' entries install into the tree; 'image' entries are container image archives */
  role: 'payload' | 'image';
  /** the manifest's own path: relative to payload/ for payload entries */
  manifestPath: string;
}

export interface WalkSink {
  /** Whether the store already holds this content, so a network source need not fetch it (see BundleEntry.held). */
  holds?(sha256: string): boolean;
  /** Where a worker should copy a file it reads directly (reads and writes off the event loop; not fsynced). */
  copyTarget?(exp: Expected): Promise<string | undefined>;
  /** Receives the bytes of a streamed entry as they arrive; called once per entry before its first chunk. */
  open?(exp: Expected): Promise<(chunk: Buffer) => Promise<void> | void>;
  /** Called when an entry verified; `close` (for streamed entries) finishes its file. */
  verified?(exp: Expected): Promise<void>;
  /** Called when an entry failed after its sink was opened, so partial output can be discarded. */
  discarded?(exp: Expected): Promise<void>;
}
