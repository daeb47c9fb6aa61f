// What a payload walk hands on, between the bundle reader (src/bundle/payload-walk.ts) and whatever keeps the
// bytes (the store's staging): one listed entry as the manifest declares it, and the sink that receives it.
import { PAYLOAD_DIR } from './layout.js';
import { isSymlink, type Manifest } from './manifest.js';

export interface Expected {
  path: string;
  size: number;
  sha256: string;
  /** 'payload' entries install into the tree; 'image' entries are container image archives */
  role: 'payload' | 'image';
  /** the manifest's own path: relative to payload/ for payload entries */
  manifestPath: string;
}

/** Every entry whose bytes a bundle carries, in one fixed order (files, then image archives). Symlinks and files a
 *  delta bundle leaves out have no bytes. Everyone who lists a bundle's bytes (the walk, the arrival probe, the
 *  spool) lists them this way, so two lists made from the same manifest bytes line up index by index. */
export function expectedEntries(m: Manifest): Expected[] {
  const out: Expected[] = [];
  for (const e of m.files) {
    if (isSymlink(e) || e.omitted) continue;
    out.push({ path: `${PAYLOAD_DIR}/${e.path}`, size: e.size, sha256: e.sha256, role: 'payload', manifestPath: e.path });
  }
  for (const i of m.images) out.push({ path: i.archive, size: i.size, sha256: i.sha256, role: 'image', manifestPath: i.archive });
  return out;
}

/**
 * A file on disk as lstat/fstat saw it. Every write changes mtime and ctime (ctime cannot be set by a user), a
 * replaced file has another inode: while the stamp is the same, the file holds the bytes it held when stamped.
 */
export interface SourceStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function sameStamp(a: SourceStamp, b: SourceStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function stampOf(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): SourceStamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/**
 * Entries verified before the walk (copied and hashed while the bundle arrived, src/spool/): a verified copy of
 * `exp`, made from the file with exactly this stamp, or undefined when there is none or the file changed since.
 */
export interface Prestaged {
  lookup(exp: Expected, stamp: SourceStamp): string | undefined;
  /** whether a verified copy of this content exists (for the space plan: linking it in needs no new blocks) */
  holds(sha256: string): boolean;
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
  /**
   * Take `file`, a verified and fsynced copy of `exp` made earlier (Prestaged), instead of reading the entry.
   * False when it cannot be taken (gone since): the walk then reads the entry as usual.
   */
  adopt?(exp: Expected, file: string): Promise<boolean>;
}
