// Verifying while a bundle arrives, the decisions: which listed files are ready to be copied and hashed, which
// verified copies no longer stand for their file, what the drop's state is, and which spools to reclaim.
// Pure: functions of what was seen (stamps), what was done, and the clock.
import { sameStamp, type Expected, type SourceStamp } from '../format/payload.js';

/** The stamp a listed file last showed, and since when it has shown it. */
export interface FileWatch {
  stamp: SourceStamp;
  since: number;
}

/** What the stager knows of one drop between two looks. */
export interface StagingBook {
  seen: ReadonlyMap<string, FileWatch>;
  /** verified copies, by path: the stamp the file had when it was copied */
  staged: ReadonlyMap<string, SourceStamp>;
  /** files that failed verification (or could not be opened as the file seen), with the stamp they had then */
  failed: ReadonlyMap<string, SourceStamp>;
  /** files being copied now */
  busy: ReadonlySet<string>;
}

export interface ReadyFile {
  file: Expected;
  /** the stamp it held for the settle time: the copy is made only from exactly this file */
  stamp: SourceStamp;
}

export interface StagingProgress {
  filesListed: number;
  /** listed files with a verified copy that still stands for them */
  filesVerified: number;
  bytesVerified: number;
  /** listed files neither verified nor failed: still arriving, settling, or being copied */
  pending: number;
  /** listed files whose verification failed and that have not changed since */
  failed: number;
}

export interface StagingPlan {
  seen: Map<string, FileWatch>;
  ready: ReadyFile[];
  /** copies that no longer stand for their file (it changed, or is gone): forget them, the file is staged again */
  stale: string[];
  /** failures of files that changed since: forget them, the file gets another chance */
  retry: string[];
  /** files that can be judged without reading them (longer than listed): failed with this stamp */
  failNow: Array<{ path: string; stamp: SourceStamp }>;
  /** some listed file changed since the last look (the drop is still arriving) */
  changed: boolean;
  progress: StagingProgress;
}

/**
 * One look at a drop: `stamps[i]` is what `files[i]` is on disk now (undefined: missing or not a regular file).
 * A file is ready once it has its listed size and its stamp has not changed for `settleMs` (counted from its
 * ctime, or from when it was first seen with this stamp if that is later): a writer that has not finished
 * changes mtime or ctime, and waiting a settle time that is long against the file system's timestamp
 * granularity means any later write shows as a new stamp (the copy is then made again).
 */
export function planStaging(
  files: readonly Expected[],
  stamps: ReadonlyArray<SourceStamp | undefined>,
  book: StagingBook,
  now: number,
  settleMs: number,
): StagingPlan {
  const plan: StagingPlan = {
    seen: new Map(),
    ready: [],
    stale: [],
    retry: [],
    failNow: [],
    changed: false,
    progress: { filesListed: files.length, filesVerified: 0, bytesVerified: 0, pending: 0, failed: 0 },
  };
  files.forEach((file, i) => {
    const stamp = stamps[i];
    const before = book.seen.get(file.path);
    if (!stamp) {
      if (before) plan.changed = true;
      if (book.staged.has(file.path)) plan.stale.push(file.path);
      if (book.failed.has(file.path)) plan.retry.push(file.path);
      plan.progress.pending++;
      return;
    }
    const same = before !== undefined && sameStamp(before.stamp, stamp);
    if (!same) plan.changed = true;
    // Any write or rename sets ctime, so a file is unchanged since its ctime: a file that landed (rsync renames
    // it into place) before this look has been settling since then. A ctime ahead of this clock counts from now.
    const since = same ? before.since : Math.min(now, stamp.ctimeMs);
    plan.seen.set(file.path, { stamp, since });

    const staged = book.staged.get(file.path);
    if (staged && sameStamp(staged, stamp)) {
      plan.progress.filesVerified++;
      plan.progress.bytesVerified += file.size;
      return;
    }
    if (staged) plan.stale.push(file.path);
    const failed = book.failed.get(file.path);
    if (failed && sameStamp(failed, stamp)) {
      plan.progress.failed++;
      return;
    }
    if (failed) plan.retry.push(file.path);
    // Longer than listed: it fails whatever its bytes, without reading them.
    if (stamp.size > file.size && now - since >= settleMs) {
      plan.failNow.push({ path: file.path, stamp });
      plan.progress.failed++;
      return;
    }
    plan.progress.pending++;
    if (stamp.size === file.size && now - since >= settleMs && !book.busy.has(file.path)) plan.ready.push({ file, stamp });
  });
  return plan;
}

/**
 * What the tracker hears about a drop whose signatures hold: `staging` while work remains (the whole-bundle
 * quiet period then does not apply: every file is judged by itself); `staged` once every listed file has a
 * verified copy that still stands for it (the bundle is ready now); `off` when some file failed (the install
 * then reports it, after the quiet period, as it would without early verification).
 */
export function stagingState(p: StagingProgress): 'staging' | 'staged' | 'off' {
  if (p.pending > 0) return 'staging';
  return p.failed > 0 ? 'off' : 'staged';
}

/** Bytes the copies still to be made take on a file system with blocks of `blockSize`, a margin included. */
export function bytesToStage(files: readonly Expected[], staged: ReadonlyMap<string, SourceStamp>, blockSize: number): number {
  let bytes = 0;
  for (const f of files) if (!staged.has(f.path)) bytes += Math.ceil(f.size / blockSize) * blockSize;
  // The store's own state, folders and the journal, and room to spare for everyone else on the file system.
  return bytes + 64 * blockSize + Math.ceil(bytes / 100);
}

export interface SpoolAge {
  key: string;
  /** when the drop last changed or a copy was last made (ms since epoch) */
  changedAt: number;
  /** copies of it are being made right now */
  busy: boolean;
}

/** Spools of drops that stopped arriving `keepMs` ago or longer: their copies are removed. */
export function spoolsToReclaim(spools: readonly SpoolAge[], now: number, keepMs: number): string[] {
  return spools.filter((s) => !s.busy && now - s.changedAt >= keepMs).map((s) => s.key);
}
