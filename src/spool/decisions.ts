// The parts spool's decisions, pure: which copy of which part to read next (and which to refuse unread), which
// sticks may be removed, what the record says, how far the parts can be unpacked, which spools are abandoned,
// where a stick begins. Plain data in, plain data out: no file system, no clock.
import path from 'node:path';
import type { PartsArrival, PartsRejection, PartsStick } from '../watcher/parts-arrival.js';

export interface IndexPart {
  name: string;
  size: number;
  sha256: string;
}

/** Where a copy lies: the stick (its mount point below a media root) or the folder below a drop folder. */
export interface Stick {
  label: string;
  path: string;
  media: boolean;
}

/** A file under a watched root named like a part of a trusted index, as lstat last saw it. */
export interface PartCopy {
  path: string;
  part: string;
  stick: Stick;
  /** 'file' for a regular file; otherwise what it is, in words ("a symlink", "a FIFO") */
  type: 'file' | string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** since when (ms) this stat has been unchanged */
  stableSince: number;
}

/** Copies are judged once per content: the same path with the same stat is not read again. */
export function copyFingerprint(c: Pick<PartCopy, 'path' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'type'>): string {
  return `${c.path}\0${c.type}\0${c.size}\0${c.mtimeMs}\0${c.ctimeMs}\0${c.ino}`;
}

export interface SpoolView {
  /** the index's parts, in order */
  parts: readonly IndexPart[];
  /** names of the parts spooled so far */
  spooled: ReadonlySet<string>;
  /** fingerprints of copies already judged (read or refused) */
  judged: ReadonlySet<string>;
}

export type CopyAction =
  | { kind: 'read'; copy: PartCopy; part: IndexPart; purpose: 'spool' | 'duplicate' }
  | { kind: 'refuse'; copy: PartCopy; part: IndexPart; code: 'WRONG_TYPE' | 'PART_CORRUPT'; message: string };

/**
 * The next thing to do with the copies seen. A copy that is not a regular file, or is larger than its part,
 * is refused unread. A regular file at its declared size and unchanged for `settleMs` is read: parts still
 * needed first, lowest first (so the tar can be unpacked in order); copies of parts already spooled last (a
 * duplicate is only hashed, to confirm it). A copy still growing is waited for.
 */
export function nextCopyAction(view: SpoolView, copies: Iterable<PartCopy>, now: number, settleMs: number): CopyAction | undefined {
  const order = new Map(view.parts.map((p, i) => [p.name, i]));
  let best: { action: CopyAction; rank: number } | undefined;
  for (const copy of copies) {
    const i = order.get(copy.part);
    if (i === undefined || view.judged.has(copyFingerprint(copy))) continue;
    const part = view.parts[i]!;
    const shown = `part ${copy.part} on ${stickText(copy.stick)}`;
    if (copy.type !== 'file') {
      return { kind: 'refuse', copy, part, code: 'WRONG_TYPE', message: `${shown} is ${copy.type}; a part is read only from a regular file` };
    }
    const settled = now - copy.stableSince >= settleMs;
    if (copy.size > part.size) {
      if (settled)
        return { kind: 'refuse', copy, part, code: 'PART_CORRUPT', message: `${shown} is ${copy.size} bytes; the signed index lists ${part.size}` };
      continue;
    }
    if (copy.size < part.size || !settled) continue;
    const needed = !view.spooled.has(copy.part);
    const rank = (needed ? 0 : view.parts.length) + i;
    if (!best || rank < best.rank) best = { action: { kind: 'read', copy, part, purpose: needed ? 'spool' : 'duplicate' }, rank };
  }
  return best?.action;
}

/** Whether a copy is one the spool still wants to read: a regular file of a part not spooled yet, no larger than it. */
export function isWanted(view: SpoolView, copy: PartCopy): boolean {
  const part = view.parts.find((p) => p.name === copy.part);
  return (
    part !== undefined && copy.type === 'file' && copy.size <= part.size && !view.spooled.has(copy.part) && !view.judged.has(copyFingerprint(copy))
  );
}

export interface StickCount {
  stick: Stick;
  /** parts spooled from it */
  parts: number;
}

/**
 * Every stick seen (present or gone), each with whether it may be removed: nothing on it is still wanted and
 * nothing is being read from it. `reading` is the path being read now.
 */
export function stickStates(view: SpoolView, copies: Iterable<PartCopy>, spooledFrom: Iterable<StickCount>, reading?: string): PartsStick[] {
  const sticks = new Map<string, PartsStick>();
  const entry = (s: Stick) => {
    let e = sticks.get(s.path);
    if (!e) sticks.set(s.path, (e = { label: s.label, path: s.path, media: s.media, present: false, partsReceived: 0, removable: true }));
    return e;
  };
  for (const c of spooledFrom) entry(c.stick).partsReceived += c.parts;
  for (const copy of copies) {
    const e = entry(copy.stick);
    e.present = true;
    if (copy.path === reading || isWanted(view, copy)) e.removable = false;
  }
  return [...sticks.values()];
}

/** What the record says in words: "parts 4 of 9 received; stick STICK-A may be removed". */
export function partsMessage(received: number, total: number, sticks: readonly PartsStick[], reading?: { part: string; stick: string }): string {
  const head = `parts ${received} of ${total} received`;
  if (received === total) {
    const present = sticks.filter((s) => s.present && s.media);
    return present.length ? `${head}; ${removable(present)} may be removed` : head;
  }
  if (reading) return `${head}; reading ${reading.part} from ${reading.stick}`;
  const done = sticks.filter((s) => s.present && s.removable && s.partsReceived > 0);
  const waiting = `waiting for ${total - received} more part(s)`;
  return done.length ? `${head}; ${removable(done)} may be removed; ${waiting}` : `${head}; ${waiting}`;
}

function removable(sticks: readonly PartsStick[]): string {
  const list = (names: string[]) => (names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
  const media = sticks.filter((s) => s.media).map((s) => s.label);
  const folders = sticks.filter((s) => !s.media).map((s) => s.path);
  const said = [
    ...(media.length ? [`${media.length === 1 ? 'stick' : 'sticks'} ${list(media)}`] : []),
    ...(folders.length ? [`${folders.length === 1 ? 'folder' : 'folders'} ${list(folders)}`] : []),
  ];
  return said.join(' and ');
}

function stickText(s: Stick): string {
  return s.media ? `stick ${s.label}` : `folder ${s.path}`;
}

/** The stick or folder a copy was found on, in words (for messages and records). */
export function describeStick(s: Stick): string {
  return stickText(s);
}

export const MAX_REJECTIONS = 20;
export const MAX_STICKS = 32;

/** The record's parts progress, bounded: at most MAX_STICKS sticks and the newest MAX_REJECTIONS refusals. */
export function partsArrival(p: {
  total: number;
  received: number;
  bytesReceived: number;
  bytesTotal: number;
  sticks: PartsStick[];
  rejected: readonly PartsRejection[];
  duplicates: number;
  reading?: PartsArrival['reading'];
  unpackedParts: number;
}): PartsArrival {
  const sticks = p.sticks.slice(-MAX_STICKS);
  return {
    received: p.received,
    total: p.total,
    bytesReceived: p.bytesReceived,
    bytesTotal: p.bytesTotal,
    unpackedParts: p.unpackedParts,
    sticks,
    rejected: p.rejected.slice(-MAX_REJECTIONS),
    duplicates: p.duplicates,
    ...(p.reading ? { reading: p.reading } : {}),
    message: partsMessage(p.received, p.total, sticks, p.reading ? { part: p.reading.part, stick: p.reading.stick } : undefined),
  };
}

/** How many parts, from the first, are spooled: the tar can be unpacked that far. */
export function contiguousParts(parts: readonly IndexPart[], spooled: ReadonlySet<string>): number {
  let n = 0;
  while (n < parts.length && spooled.has(parts[n]!.name)) n++;
  return n;
}

export interface SpoolActivity {
  key: string;
  /** ms since epoch of the last part spooled, index seen or start-up */
  lastActivity: number;
  /** the daemon is installing it now: never reclaimed under its feet */
  busy: boolean;
}

/** Spools nothing happened to for `maxAgeMs`: reclaimed, with their record gone. */
export function abandonedSpools(spools: Iterable<SpoolActivity>, now: number, maxAgeMs: number): string[] {
  const out: string[] = [];
  for (const s of spools) if (!s.busy && now - s.lastActivity >= maxAgeMs) out.push(s.key);
  return out;
}

/**
 * The stick a file lies on: the first folder below the watched root on another device than the root (a mount
 * point), else the first folder below the root (a stick simulated by a folder, or a copy in a drop folder's
 * subfolder), else the root itself. `chain`: the folders from just below the root down to the file's folder.
 */
export function stickOf(root: { path: string; dev: number; media: boolean }, chain: ReadonlyArray<{ path: string; dev: number }>): Stick {
  const mount = chain.find((d) => d.dev !== root.dev) ?? chain[0];
  const where = mount?.path ?? root.path;
  return { label: path.basename(where) || where, path: where, media: root.media };
}
