// Verify while a folder bundle arrives. For each drop the arrival probe looks at, once the signatures over its
// manifest satisfy the trust file (and not before: bounded work before trust), every listed file that has its
// listed size and has not changed for the settle time is copied and hashed into the drop's spool in one pass
// (src/hash/file-job.ts, the hash workers' own job), while the rest is still arriving. The install then takes
// those copies instead of reading the files again (prestaged.ts). Runs in the probe worker, a thread of its own
// off the daemon's event loop; the jobs run on that thread rather than on a pool of their own, since every
// further thread costs the daemon some 20 MB and one file is one job either way. Decisions are in plan.ts.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError } from '../errors.js';
import { expectedEntries, sameStamp, stampOf, type Expected, type SourceStamp } from '../format/payload.js';
import { DIRECT_MIN_BYTES } from '../hash/copy-target.js';
import { digestsEqual } from '../hash/digest.js';
import { runFileJob } from '../hash/file-job.js';
import { DirHandle } from '../safe-fs/dir-handle.js';
import { BLOB_MODE } from '../store/content.js';
import { freeSpace } from '../store/space.js';
import { readState } from '../store/state-file.js';
import { decideInstall } from '../store/state.js';
import { loadTrust, type TrustFiles } from '../trust/load-trust.js';
import { bytesToStage, planStaging, spoolsToReclaim, stagingState, type FileWatch } from './plan.js';
import { listSpools, Spool, spoolKey } from './spool.js';

export interface StagerOptions {
  /** where the spools live: in the store's file system (STORE/daemon/spool) */
  root: string;
  store: string;
  trust: TrustFiles;
  threshold: number;
  maxManifestBytes: number;
  /** a listed file must keep the same stamp this long before it is copied */
  settleMs: number;
  /** a drop that has not changed for this long is left alone, and its spool reclaimed */
  keepMs: number;
  now?: () => number;
}

/** One look at a folder drop, by the arrival probe: what its manifest lists and what each listed file is now. */
export interface DirLook {
  location: string;
  /** the watched root it lies in: every level below is opened without following links */
  root: string;
  /** sha256 of the manifest bytes the listing comes from */
  manifestDigest: string;
  /** changes whenever the manifest or a signature file does: trust is judged again */
  headKey: string;
  /** newest ctime of the manifest and the signatures */
  headChangedAt: number;
  /** the listed entries' paths and sizes, in expectedEntries order */
  listed: Array<{ path: string; size: number }>;
  /** what each listed entry is on disk (undefined: missing, or not a regular file) */
  stamps: Array<SourceStamp | undefined>;
}

export type StagingState = 'waiting' | 'staging' | 'staged' | 'off';

/** What the arrival tracker and the API learn about a drop's early verification. */
export interface StagingSummary {
  /**
   * waiting: no trusted signatures over this manifest (yet): nothing is read. staging: trusted, files are being
   * verified as they arrive. staged: every listed file verified and unchanged since. off: trusted, but the
   * install does the verifying (a file failed, the store already has it or refuses it, not enough space, or
   * the drop stopped changing longer ago than staged copies are kept).
   */
  state: StagingState;
  bytesVerified: number;
  filesVerified: number;
  filesListed: number;
}

interface Drop {
  location: string;
  root: string;
  /** bumped on every reset: copies finishing for an older generation are thrown away */
  generation: number;
  digest?: string;
  headKey?: string;
  trust: 'unknown' | 'refused' | 'trusted';
  /** trusted, but not verified early: why */
  off?: string;
  files?: Expected[];
  spool?: Spool;
  seen: Map<string, FileWatch>;
  staged: Map<string, SourceStamp>;
  failed: Map<string, SourceStamp>;
  busy: Set<string>;
  /** when the drop last changed or a copy of it was last made */
  activeAt: number;
}

interface Job {
  drop: Drop;
  generation: number;
  file: Expected;
  stamp: SourceStamp;
}

/** Copies at once: many small files keep the disk busy; large ones (with their 2 MiB of buffers) two at a time. */
const MAX_JOBS = 32;
const MAX_LARGE_JOBS = 2;

export class ArrivalStager {
  private readonly drops = new Map<string, Drop>();
  private readonly queue: Job[] = [];
  private readonly copying = new Set<string>();
  private running = 0;
  private runningLarge = 0;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly o: StagerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Take one look at a drop into account; start copying what is ready. Never waits for a copy. */
  async advance(look: DirLook): Promise<StagingSummary> {
    const d = this.dropFor(look);
    const now = this.now();
    if (d.digest !== look.manifestDigest) {
      this.reset(d);
      d.digest = look.manifestDigest;
    }
    if (d.spool && !(await d.spool.alive())) this.reset(d);
    let newest = look.headChangedAt;
    for (const s of look.stamps) if (s && s.ctimeMs > newest) newest = s.ctimeMs;
    d.activeAt = Math.max(d.activeAt, newest);
    // A drop that stopped changing longer ago than copies are kept is not copied (again): it installs as a whole.
    if (now - d.activeAt >= this.o.keepMs && d.busy.size === 0) return this.summary('off', d);
    if (d.headKey !== look.headKey) await this.judge(d, look);
    if (d.trust !== 'trusted' || !d.files || !aligned(d.files, look.listed)) return this.summary('waiting', d);
    if (d.off) return this.summary('off', d);

    const plan = planStaging(d.files, look.stamps, d, now, this.o.settleMs);
    d.seen = plan.seen;
    for (const p of plan.stale) d.staged.delete(p);
    for (const p of plan.retry) d.failed.delete(p);
    for (const f of plan.failNow) d.failed.set(f.path, f.stamp);
    for (const r of plan.ready) {
      d.busy.add(r.file.path);
      this.queue.push({ drop: d, generation: d.generation, file: r.file, stamp: r.stamp });
    }
    this.pump();
    return { state: stagingState(plan.progress), ...counts(plan.progress) };
  }

  /** Forget a drop that is gone (its spool stays until reclaimed, in case it comes back). */
  forget(location: string): void {
    const d = this.drops.get(location);
    if (d) {
      this.reset(d);
      this.drops.delete(location);
    }
  }

  /** Remove the spools of drops that stopped changing `keepMs` ago or longer. Returns their folders. */
  async reclaim(): Promise<string[]> {
    const byKey = new Map([...this.drops.values()].map((d) => [spoolKey(d.location), d]));
    const spools = await listSpools(this.o.root);
    const ages = spools.map((s) => {
      const d = byKey.get(s.key);
      return { key: s.key, changedAt: Math.max(s.changedAt, d?.activeAt ?? 0), busy: (d?.busy.size ?? 0) > 0 };
    });
    const removed: string[] = [];
    for (const key of spoolsToReclaim(ages, this.now(), this.o.keepMs)) {
      const d = byKey.get(key);
      if (d) this.reset(d);
      const dir = path.join(this.o.root, key);
      await fsp.rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
  }

  private dropFor(look: DirLook): Drop {
    let d = this.drops.get(look.location);
    if (!d) {
      d = {
        location: look.location,
        root: look.root,
        generation: 0,
        trust: 'unknown',
        seen: new Map(),
        staged: new Map(),
        failed: new Map(),
        busy: new Set(),
        activeAt: 0,
      };
      this.drops.set(look.location, d);
    }
    return d;
  }

  private reset(d: Drop): void {
    d.generation++;
    delete d.digest;
    delete d.headKey;
    delete d.off;
    delete d.files;
    delete d.spool;
    d.trust = 'unknown';
    d.seen = new Map();
    d.staged = new Map();
    d.failed = new Map();
    d.busy = new Set();
  }

  /**
   * The signatures over the exact manifest bytes, against the trust file and threshold (read afresh), then
   * expiry: only a manifest that passes is parsed, and only then is anything of the payload read.
   */
  private async judge(d: Drop, look: DirLook): Promise<void> {
    let header;
    try {
      header = await fileSystemSource(d.location, { within: d.root }).open({ maxManifestBytes: this.o.maxManifestBytes });
    } catch {
      return; // not readable as a bundle right now: judged again at the next look
    }
    try {
      // The manifest changed between the look and this read: judge it at the next look, with its own listing.
      if (header.digest !== look.manifestDigest) return;
      const set = await loadTrust(this.o.trust);
      const now = new Date();
      const trust = evaluateTrust(header, {
        allowedSigners: set.signers,
        threshold: this.o.threshold,
        now,
        ...(set.revoked ? { revokedKeys: set.revoked } : {}),
      });
      d.headKey = look.headKey;
      let bundle;
      try {
        bundle = passGates(header, trust, now);
      } catch (err) {
        if (!(err instanceof AirlockError)) throw err;
        d.trust = 'refused';
        return;
      }
      d.trust = 'trusted';
      d.files ??= expectedEntries(bundle.manifest);
      const m = bundle.manifest;
      const state = await readState(this.o.store).catch(() => undefined);
      const decision = state
        ? decideInstall(state, { bundleId: m.id, name: m.name, channel: m.channel, sequence: m.sequence, manifestDigest: header.digest }, false)
        : { action: 'install' as const };
      if (decision.action === 'already-installed') d.off = 'already installed';
      else if (decision.action === 'reject') d.off = decision.failure.message;
      else await this.attachSpool(d);
    } finally {
      await header.close();
    }
  }

  /** The drop's spool: resumed when it holds copies for this very manifest (after a restart), new otherwise. */
  private async attachSpool(d: Drop): Promise<void> {
    if (d.spool || !d.files || !d.digest) return;
    const found = await Spool.open(this.o.root, d.location);
    if (found && found.header.manifestDigest === d.digest) {
      const byPath = new Map(d.files.map((f) => [f.path, f]));
      for (const e of found.entries.values()) {
        const f = byPath.get(e.path);
        if (f && f.sha256 === e.sha256 && f.size === e.size && (await found.hasBlob(e.sha256, e.size))) d.staged.set(e.path, e.stamp);
      }
      await found.sweep();
    }
    await fsp.mkdir(this.o.root, { recursive: true, mode: 0o700 });
    const free = await freeSpace(this.o.root);
    if (bytesToStage(d.files, d.staged, free.blockSize) > free.bytes) {
      d.off = 'not enough free space to verify it while it arrives';
      d.staged.clear();
      return;
    }
    d.spool = found && found.header.manifestDigest === d.digest ? found : await Spool.create(this.o.root, d.location, d.digest);
  }

  private summary(state: StagingState, d: Drop): StagingSummary {
    let bytes = 0;
    for (const f of d.files ?? []) if (d.staged.has(f.path)) bytes += f.size;
    return { state, bytesVerified: bytes, filesVerified: d.staged.size, filesListed: d.files?.length ?? 0 };
  }

  private pump(): void {
    if (this.closed) return;
    for (let i = 0; i < this.queue.length && this.running < MAX_JOBS;) {
      const job = this.queue[i]!;
      if (job.generation !== job.drop.generation) {
        this.queue.splice(i, 1);
        job.drop.busy.delete(job.file.path);
        continue;
      }
      const large = job.file.size >= DIRECT_MIN_BYTES;
      if (large && this.runningLarge >= MAX_LARGE_JOBS) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.running++;
      if (large) this.runningLarge++;
      void this.stage(job).finally(() => {
        job.drop.busy.delete(job.file.path);
        this.running--;
        if (large) this.runningLarge--;
        this.pump();
      });
    }
  }

  /** Copy and hash one file into the spool, from exactly the file that settled (same stamp before and after). */
  private async stage(job: Job): Promise<void> {
    const { drop: d, file, stamp } = job;
    const spool = d.spool;
    if (!spool || this.copying.has(file.sha256)) return; // the same content is being copied: it comes round again
    const opened = await this.openSettled(d, file.path, stamp);
    if (!opened) return;
    let temp: string | undefined;
    try {
      temp = (await spool.hasBlob(file.sha256, file.size)) ? undefined : spool.tempPath();
      if (temp) this.copying.add(file.sha256);
      // Synced with the others that finish together when the spool commits it (spool.add).
      const tally = await runFileJob({ file: file.path, fd: opened.fd, limit: file.size, ...(temp ? { copyTo: temp } : {}) });
      const after = stampOf(await opened.stat());
      if (job.generation !== d.generation || !sameStamp(after, stamp)) return; // written to while copied: again once it settles
      if (tally.overflow || tally.size !== file.size || !digestsEqual(tally.sha256, file.sha256)) {
        d.failed.set(file.path, stamp);
        return;
      }
      if (temp) await fsp.chmod(temp, BLOB_MODE);
      await spool.add({ path: file.path, sha256: file.sha256, size: file.size, stamp }, temp);
      temp = undefined;
      if (job.generation === d.generation) {
        d.staged.set(file.path, stamp);
        d.activeAt = Math.max(d.activeAt, this.now());
      }
    } catch (err) {
      // The spool cannot be written (ENOSPC, EIO) or the workers are gone: the install verifies this drop itself.
      if (job.generation === d.generation && !this.closed) d.off = `verifying while it arrives stopped: ${(err as Error).message}`;
    } finally {
      this.copying.delete(file.sha256);
      await opened.close();
      if (temp) await fsp.rm(temp, { force: true });
    }
  }

  /**
   * Open a listed file through the drop's folders (each level by descriptor, never following a link), and only if
   * it is still the file that settled. A FIFO, a symlink or a folder swapped in fails it (with the stamp seen,
   * so it is judged again when it changes); a file changed or gone since is simply not copied now.
   */
  private async openSettled(
    d: Drop,
    rel: string,
    stamp: SourceStamp,
  ): Promise<{ fd: number; stat(): Promise<Stats>; close(): Promise<void> } | undefined> {
    const dirs: DirHandle[] = [];
    try {
      const top = await DirHandle.open(d.root);
      dirs.push(top);
      const bundle = await top.openPath(path.relative(d.root, d.location));
      dirs.push(bundle);
      const parent = path.posix.dirname(rel);
      const folder = parent === '.' ? bundle : await bundle.openPath(parent);
      if (folder !== bundle) dirs.push(folder);
      const { fh, stat } = await folder.openFile(path.posix.basename(rel), rel);
      if (!sameStamp(stampOf(stat), stamp)) {
        await fh.close();
        return undefined;
      }
      return { fd: fh.fd, stat: () => fh.stat(), close: () => fh.close() };
    } catch (err) {
      if (err instanceof AirlockError && err.code === 'WRONG_TYPE') d.failed.set(rel, stamp);
      return undefined;
    } finally {
      for (const h of dirs.reverse()) await h.close().catch(() => undefined);
    }
  }
}

function counts(p: { bytesVerified: number; filesVerified: number; filesListed: number }) {
  return { bytesVerified: p.bytesVerified, filesVerified: p.filesVerified, filesListed: p.filesListed };
}

/** The probe's listing and the trusted one come from the same manifest bytes, so they line up; checked anyway. */
function aligned(files: readonly Expected[], listed: ReadonlyArray<{ path: string; size: number }>): boolean {
  if (files.length !== listed.length) return false;
  for (let i = 0; i < files.length; i++) if (files[i]!.path !== listed[i]!.path || files[i]!.size !== listed[i]!.size) return false;
  return true;
}
