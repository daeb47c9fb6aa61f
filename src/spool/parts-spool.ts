// The parts spool: split bundles whose parts travel on several sticks. Every file event under the watched roots
// passes by here. A parts index is read and judged first (bounded work: the index and its signatures); only an
// index whose signatures hold against the trust file and threshold gets a spool, and only then are copies of its
// parts read: each once, hashed as it is copied into the store's spool, kept when its hash is the one the signed
// index lists, refused by itself otherwise (naming the part and the stick). The record then says which sticks
// may be removed. When every part is in, the daemon installs from the spool and never needs a stick again.
// Decisions are pure (decisions.ts); reading is done by the spool worker (spool-client.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { statfs } from 'node:fs/promises';
import type { PartsIndex } from '../bundle/parts-index.js';
import { AirlockError, toAirlockError } from '../errors.js';
import { PARTS_INDEX_SUFFIX, PARTS_SIGNATURES_SUFFIX, SIDECAR_SIGNATURES_SUFFIX } from '../format/layout.js';
import type { AuditInput } from '../pipeline/audit-events.js';
import { removeDrop } from '../pipeline/remove-drop.js';
import { TERMINAL_STATES, type BundleRecord } from '../pipeline/types.js';
import { describeType } from '../safe-fs/open-regular.js';
import type { TrustFiles } from '../trust/load-trust.js';
import type { SignerReport } from '../trust/policy.js';
import type { ArrivalProgress } from '../watcher/arrival.js';
import type { ArrivalEvent } from '../watcher/arrival-tracker.js';
import { candidateForFile, isIgnoredPath, isWithin, type Candidate } from '../watcher/candidates.js';
import type { FsEvent, WatchRoot } from '../watcher/fs-events.js';
import type { PartsRejection } from '../watcher/parts-arrival.js';
import type { Claim } from './arrival-gate.js';
import {
  abandonedSpools,
  copyFingerprint,
  describeStick,
  nextCopyAction,
  partsArrival,
  stickStates,
  type CopyAction,
  type IndexPart,
  type PartCopy,
  type StickCount,
} from './decisions.js';
import { spoolIndexPath, spoolKeyOf } from './layout.js';
import type { IndexRead } from './read-index.js';
import { SpoolWorker, type SpoolIo } from './spool-client.js';
import {
  commitPart,
  createSpool,
  ensureRoot,
  loadSpools,
  MAX_LOCATIONS,
  mergeSignatures,
  rejection,
  removeSpool,
  saveRecord,
  tempFile,
  type SpoolRecord,
} from './spool-store.js';
import { StickLocator } from './stick.js';
import { UnpackRun } from './unpack-client.js';
import type { UnpackMessage } from './unpacker.js';

export interface SpoolLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PartsSpoolOptions {
  /** STORE/daemon/spool */
  root: string;
  trust: TrustFiles;
  threshold: number;
  /** an unsigned or refused index is decided on once it has not changed for this long (its signatures may still be coming) */
  quietPeriodMs: number;
  /** a copy is read once its size is the part's and it has not changed for this long */
  settleMs: number;
  /** a spool nothing happened to for this long is removed, with its record */
  abandonAfterMs: number;
  /** spools kept at once; a further trusted index waits for one to finish */
  maxBundles: number;
  /** a read of a stick that makes no progress this long is given up (STALLED) */
  stallMs: number;
  /** refuse a larger airlock.json (limits.manifestBytes) */
  maxManifestBytes: number;
  dropFolders: string[];
  removeAfterInstall: boolean;
  /** arrivals of spooled bundles, to the pipeline */
  arrivals(e: ArrivalEvent): void;
  /** a parts index whose signatures do not hold: recorded rejected */
  refuse(c: Candidate, err: AirlockError, fingerprint: string, signers?: SignerReport[]): void;
  /** the daemon's record at a location, if any */
  recordAt(location: string): BundleRecord | undefined;
  audit(e: AuditInput): void;
  log: SpoolLogger;
  onTrustWarnings?(warnings: string[]): void;
  io?: SpoolIo;
  now?: () => number;
  tickMs?: number;
}

interface Entry {
  key: string;
  record: SpoolRecord;
  parts: IndexPart[];
  byName: Map<string, IndexPart>;
  spooled: Set<string>;
  /** copy fingerprint → judged until (ms; Infinity: for good) */
  judged: Map<string, number>;
  location: string;
  bytesTotal: number;
  /** complete: every part is in and the pipeline has it; done: the pipeline finished it (rejected or failed) */
  state: 'spooling' | 'complete' | 'done';
  lastPublished?: string;
  lastPublishedAt: number;
  /** parts whose tar entries are unpacked and verified */
  unpackedParts: number;
  /** unpacking as parts arrive (unpacker.ts): not started, running, every entry verified, or given up (the install then reads the parts) */
  unpack: 'none' | 'running' | 'done' | 'failed';
  run?: UnpackRun;
  /** a change was held back by the progress interval */
  behind?: boolean;
  /** unpack runs lost with their worker, started again (at most three times) */
  unpackRestarts?: number;
}

interface IndexLoc {
  path: string;
  root: WatchRoot;
  dueAt: number | undefined;
  claim?: Exclude<Claim, undefined>;
  /** the last content read and since when it has been the same */
  last?: { fingerprint: string; since: number; verdict: IndexRead['verdict']; key?: string };
}

type Copy = PartCopy & { root: WatchRoot };

const PART_NAME = /^(.+\.airlock\.tar)\.\d{3,}$/;
/** Bytes read per step of the worker: progress is seen (and a hung stick noticed) at least this often. */
const STEP_BYTES = 16 * 1024 * 1024;
/** A host failure (a full disk, a read error, a stall) is tried again after this long. */
const RETRY_MS = 60_000;
/** Free space kept in the store beyond a part being spooled. */
const SPACE_RESERVE = 64 * 1024 * 1024;
const MAX_COPIES = 16_384;
const MAX_ORPHANS = 4096;
const MAX_INDEX_LOCATIONS = 4096;
const INDEX_DEBOUNCE_MS = 100;
const PROGRESS_EVERY_MS = 500;
/** Bundles unpacked at once (each a worker thread); a further one is unpacked by its install instead if it completes first. */
const MAX_UNPACKERS = 2;
/** The spool worker is ended after this long with nothing to do and no spool waiting for parts. */
const IDLE_RELEASE_MS = 5000;

export class PartsSpool {
  private readonly entries = new Map<string, Entry>();
  /** part name → spool keys listing it */
  private readonly byPart = new Map<string, Set<string>>();
  private readonly copies = new Map<string, Copy>();
  /** part-like files no trusted index names (yet): looked at again when one does */
  private readonly orphans = new Map<string, WatchRoot>();
  private readonly indexes = new Map<string, IndexLoc>();
  private readonly sticks = new StickLocator();
  private readonly io: SpoolIo;
  private readonly now: () => number;
  private reading: { key: string; path: string; part: string; stick: string; bytesDone: number; bytes: number } | undefined;
  private indexBusy = false;
  private timer: NodeJS.Timeout | undefined;
  private events: Promise<void> = Promise.resolve();
  private lastReclaim = 0;
  /** when the worker was last asked for something (0: released) */
  private ioUsedAt = 0;
  private closed = false;
  private gate: ((location: string, claim: Exclude<Claim, undefined>) => void) | undefined;

  constructor(private readonly o: PartsSpoolOptions) {
    this.io = o.io ?? new SpoolWorker();
    this.now = o.now ?? Date.now;
  }

  /** The gate hears each decision about an index location (arrival-gate.ts). */
  onDecision(fn: (location: string, claim: Exclude<Claim, undefined>) => void): void {
    this.gate = fn;
  }

  /** Whose an index location is: the spool's, the whole-folder path's, or not decided yet. */
  claimOf(location: string): Claim {
    if (spoolKeyOf(this.o.root, location)) return 'spool';
    return this.indexes.get(location)?.claim;
  }

  /** Spools left by an earlier run: kept parts count, copies half-read are gone; each is announced to the pipeline. */
  async load(): Promise<void> {
    await ensureRoot(this.o.root);
    for (const { record, index } of await loadSpools(this.o.root, (msg, err) => this.o.log.warn({ err }, msg))) {
      const entry = this.addEntry(record, index);
      const rec = this.o.recordAt(entry.location);
      if (rec && TERMINAL_STATES.has(rec.state)) {
        if (rec.install) await this.finishInstalled(entry);
        else entry.state = 'done';
        continue;
      }
      this.o.log.info({ spool: record.key, parts: entry.spooled.size, of: entry.parts.length }, 'parts spool resumed');
      this.maybeUnpack(entry);
      this.publish(entry, true);
      this.maybeComplete(entry);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 100);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.events.catch(() => undefined);
    for (const e of this.entries.values()) await e.run?.stop();
    await this.io.close();
  }

  /** Every file event under the watched roots (watcher/fs-tee.ts). */
  onFsEvent(e: FsEvent): void {
    if (this.closed) return;
    this.events = this.events
      .then(() => this.handleEvent(e))
      .catch((err: unknown) => this.o.log.warn({ err, path: e.path }, 'parts spool: event not handled'));
  }

  /** A record changed in the pipeline: an installed spool is removed, a finished one is left alone until reclaimed. */
  recordChanged(rec: BundleRecord): void {
    const key = spoolKeyOf(this.o.root, rec.location);
    const entry = key ? this.entries.get(key) : undefined;
    if (!entry || entry.location !== rec.location || !TERMINAL_STATES.has(rec.state)) return;
    if (rec.install)
      void this.finishInstalled(entry).catch((err: unknown) => this.o.log.warn({ err, spool: entry.key }, 'could not remove an installed spool'));
    else entry.state = 'done';
  }

  private async handleEvent(e: FsEvent): Promise<void> {
    if (isIgnoredPath(e.root.path, e.path)) return;
    if (e.type === 'unlink' || e.type === 'unlinkDir') return this.gone(e.path);
    if (e.type === 'addDir') return;
    const c = candidateForFile(e.root.path, e.path, e.root.media);
    if (c?.form === 'split') return this.indexSeen(e.path, e.root);
    const owner = signatureOwner(e.path);
    if (owner) {
      const loc = this.indexes.get(owner);
      if (loc) loc.dueAt = this.now() + INDEX_DEBOUNCE_MS;
      return;
    }
    if (PART_NAME.test(path.basename(e.path))) await this.copySeen(e.path, e.root);
  }

  private indexSeen(file: string, root: WatchRoot): void {
    let loc = this.indexes.get(file);
    if (!loc) {
      if (this.indexes.size >= MAX_INDEX_LOCATIONS) this.indexes.delete(this.indexes.keys().next().value!);
      this.indexes.set(file, (loc = { path: file, root, dueAt: undefined }));
    }
    loc.dueAt = this.now() + INDEX_DEBOUNCE_MS;
  }

  private async copySeen(file: string, root: WatchRoot): Promise<void> {
    const name = path.basename(file);
    if (!this.byPart.get(name)?.size) {
      this.copies.delete(file);
      if (this.orphans.size >= MAX_ORPHANS) this.orphans.delete(this.orphans.keys().next().value!);
      this.orphans.set(file, root);
      return;
    }
    this.orphans.delete(file);
    await this.refresh(file, root);
  }

  /** lstat a copy again (never following it); a copy whose stat changed starts settling anew. */
  private async refresh(file: string, root: WatchRoot): Promise<void> {
    const st = await fsp.lstat(file).catch(() => undefined);
    if (!st) {
      this.copies.delete(file);
      return;
    }
    const prev = this.copies.get(file);
    if (!prev && this.copies.size >= MAX_COPIES) return;
    const next: Copy = {
      path: file,
      root,
      part: path.basename(file),
      stick: prev?.stick ?? (await this.sticks.locate(root, file)),
      type: st.isFile() ? 'file' : describeType(st),
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
      stableSince: this.now(),
    };
    if (prev && copyFingerprint(prev) === copyFingerprint(next)) next.stableSince = prev.stableSince;
    this.copies.set(file, next);
  }

  private gone(p: string): void {
    for (const map of [this.copies, this.orphans, this.indexes] as Array<Map<string, unknown>>)
      for (const k of [...map.keys()]) if (isWithin(p, k)) map.delete(k);
    this.sticks.forget(p);
    const owner = signatureOwner(p);
    const loc = owner ? this.indexes.get(owner) : undefined;
    if (loc) loc.dueAt = this.now() + INDEX_DEBOUNCE_MS;
    for (const entry of this.entries.values()) this.publish(entry);
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const now = this.now();
    if (!this.indexBusy) {
      const due = [...this.indexes.values()].find((l) => l.dueAt !== undefined && l.dueAt <= now);
      if (due) {
        this.indexBusy = true;
        due.dueAt = undefined;
        void this.readIndex(due).finally(() => (this.indexBusy = false));
      }
    }
    await this.refreshUnsettled();
    if (!this.reading) this.nextAction();
    for (const entry of this.entries.values()) if (entry.behind) this.publish(entry);
    await this.releaseIdleWorker(now);
    if (now - this.lastReclaim >= Math.min(60_000, this.o.abandonAfterMs / 4)) {
      this.lastReclaim = now;
      await this.reclaim().catch((err: unknown) => this.o.log.warn({ err }, 'parts spool: reclaiming failed'));
    }
  }

  /** A copy still settling, or still short of its part's size, is looked at again (events may be missed). */
  private async refreshUnsettled(): Promise<void> {
    const now = this.now();
    let n = 0;
    for (const c of [...this.copies.values()]) {
      if (n >= 256) break;
      const settling = now - c.stableSince < this.o.settleMs * 2;
      const short =
        c.type === 'file' && [...(this.byPart.get(c.part) ?? [])].some((k) => (this.entries.get(k)?.byName.get(c.part)?.size ?? 0) > c.size);
      if (!settling && !short) continue;
      n++;
      await this.refresh(c.path, c.root);
    }
  }

  /** No spool waiting for parts and nothing being read: the worker thread is ended until it is needed again. */
  private async releaseIdleWorker(now: number): Promise<void> {
    if (this.ioUsedAt === 0 || now - this.ioUsedAt < IDLE_RELEASE_MS || this.reading || this.indexBusy) return;
    if ([...this.entries.values()].some((e) => e.state === 'spooling' || e.unpack === 'running')) return;
    this.ioUsedAt = 0;
    await this.io.release?.();
  }

  private async readIndex(loc: IndexLoc): Promise<void> {
    this.ioUsedAt = this.now();
    let r: IndexRead;
    try {
      r = await this.io.readIndex({ root: loc.root.path, file: loc.path, trust: this.o.trust, threshold: this.o.threshold });
    } catch (err) {
      this.o.log.warn({ err, location: loc.path }, 'parts spool: could not read a parts index');
      return;
    }
    if (r.trustWarnings?.length) this.o.onTrustWarnings?.(r.trustWarnings);
    const now = this.now();
    const since = loc.last?.fingerprint === r.fingerprint ? loc.last.since : now;
    loc.last = { fingerprint: r.fingerprint, since, verdict: r.verdict, ...(r.digest ? { key: r.digest } : {}) };
    if (r.verdict === 'trusted') return this.adopt(loc, r);
    // Not trusted (yet): signatures may still be arriving. Decided once the index and its signatures stay as they are.
    if (now - since < this.o.quietPeriodMs) {
      loc.dueAt = since + this.o.quietPeriodMs;
      return;
    }
    if (r.verdict === 'refused') {
      const err = AirlockError.fromFailures(r.failures, `${loc.path}: ${r.failures[0]?.message ?? 'the parts index signatures do not hold'}`);
      this.decide(loc, 'spool');
      this.o.refuse({ form: 'split', location: loc.path, root: loc.root.path, media: loc.root.media }, err, r.fingerprint, r.trust?.signers);
      return;
    }
    this.decide(loc, 'legacy');
  }

  private decide(loc: IndexLoc, claim: Exclude<Claim, undefined>): void {
    if (loc.claim === claim) return;
    loc.claim = claim;
    this.gate?.(loc.path, claim);
  }

  /** A trusted index: its spool (made now, or the one it already has, with the signatures seen here added). */
  private async adopt(loc: IndexLoc, r: IndexRead): Promise<void> {
    const key = r.digest!;
    let entry = this.entries.get(key);
    if (!entry) {
      const location = spoolIndexPath(this.o.root, key, r.indexName);
      const rec = this.o.recordAt(location);
      if (rec && TERMINAL_STATES.has(rec.state)) {
        // Already installed (or refused) from a spool: the stick still holds it, nothing more to do.
        this.decide(loc, 'spool');
        return;
      }
      if (this.entries.size >= this.o.maxBundles) {
        this.o.log.warn({ location: loc.path, spools: this.entries.size }, 'parts spool full: this bundle waits for another to finish');
        loc.dueAt = this.now() + RETRY_MS;
        return;
      }
      const record = await createSpool(this.o.root, key, r.indexName, r.bytes!, new Date(this.now()));
      entry = this.addEntry(record, r.index!);
      this.o.log.info({ spool: key, location: loc.path, parts: entry.parts.length }, 'trusted parts index: spooling its parts');
    }
    this.decide(loc, 'spool');
    if (entry.state === 'spooling') await mergeSignatures(this.o.root, key, r.indexName, r.partsSignatures, r.countersignatures);
    entry.record.locations = [...entry.record.locations.filter((l) => l !== loc.path), loc.path].slice(-MAX_LOCATIONS);
    entry.record.lastActivity = new Date(this.now()).toISOString();
    await saveRecord(this.o.root, entry.record);
    // Parts seen before their index was: looked at now.
    for (const [file, root] of [...this.orphans]) if (entry.byName.has(path.basename(file))) await this.copySeen(file, root);
    this.publish(entry, true);
  }

  private addEntry(record: SpoolRecord, index: PartsIndex): Entry {
    const parts = index.parts.map((p) => ({ name: p.name, size: p.size, sha256: p.sha256 }));
    const entry: Entry = {
      key: record.key,
      record,
      parts,
      byName: new Map(parts.map((p) => [p.name, p])),
      spooled: new Set(record.parts.map((p) => p.name)),
      judged: new Map(),
      location: spoolIndexPath(this.o.root, record.key, record.indexName),
      bytesTotal: index.size,
      state: 'spooling',
      lastPublishedAt: 0,
      unpackedParts: 0,
      unpack: 'none',
    };
    this.entries.set(record.key, entry);
    for (const p of parts) {
      let keys = this.byPart.get(p.name);
      if (!keys) this.byPart.set(p.name, (keys = new Set()));
      keys.add(record.key);
    }
    return entry;
  }

  private removeEntry(entry: Entry): void {
    this.entries.delete(entry.key);
    void entry.run?.stop();
    entry.run = undefined;
    for (const p of entry.parts) {
      const keys = this.byPart.get(p.name);
      keys?.delete(entry.key);
      if (keys?.size === 0) this.byPart.delete(p.name);
    }
  }

  private copiesOf(entry: Entry): Copy[] {
    return [...this.copies.values()].filter((c) => entry.byName.has(c.part));
  }

  private viewOf(entry: Entry) {
    const now = this.now();
    const judged = new Set<string>();
    for (const [fp, until] of entry.judged) if (until > now) judged.add(fp);
    return { parts: entry.parts, spooled: entry.spooled, judged };
  }

  private nextAction(): void {
    const now = this.now();
    const spooling = [...this.entries.values()]
      .filter((e) => e.state === 'spooling')
      .sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt));
    for (const entry of spooling) {
      const action = nextCopyAction(this.viewOf(entry), this.copiesOf(entry), now, this.o.settleMs);
      if (!action) continue;
      if (action.kind === 'refuse') {
        void this.refuseCopy(entry, action).catch((err: unknown) => this.o.log.warn({ err }, 'parts spool: could not record a refused copy'));
        return;
      }
      const copy = action.copy as Copy;
      this.reading = {
        key: entry.key,
        path: copy.path,
        part: action.part.name,
        stick: describeStick(copy.stick),
        bytesDone: 0,
        bytes: action.part.size,
      };
      void this.read(entry, action, copy).finally(() => {
        this.reading = undefined;
        this.publish(entry, true);
      });
      return;
    }
  }

  private async refuseCopy(entry: Entry, action: Extract<CopyAction, { kind: 'refuse' }>): Promise<void> {
    entry.judged.set(copyFingerprint(action.copy), Infinity);
    await this.reject(entry, action.copy, action.code, action.message, Infinity);
  }

  private async read(entry: Entry, action: Extract<CopyAction, { kind: 'read' }>, copy: Copy): Promise<void> {
    const { part, purpose } = action;
    const fp = copyFingerprint(copy);
    const shown = `part ${part.name} on ${describeStick(copy.stick)}`;
    const tmp = purpose === 'spool' ? tempFile(this.o.root, entry.key, part.name) : undefined;
    let job: number | undefined;
    this.ioUsedAt = this.now();
    this.publish(entry, true);
    try {
      if (tmp) await this.checkSpace(part.size);
      job = await this.guarded(this.io.copyOpen({ root: copy.root.path, file: copy.path, size: part.size, ...(tmp ? { dest: tmp } : {}) }), shown);
      for (;;) {
        const step = await this.guarded(this.io.copyStep(job, STEP_BYTES), shown);
        this.ioUsedAt = this.now();
        if (this.reading) this.reading.bytesDone = step.bytesDone;
        this.publish(entry);
        if (!step.done) continue;
        job = undefined;
        entry.judged.set(fp, Infinity);
        if (step.sha256 === part.sha256) {
          if (tmp) await this.spooled(entry, copy, part, tmp);
          else await this.duplicate(entry, copy, part);
          return;
        }
        if (tmp) await fsp.rm(tmp, { force: true });
        const why = `(sha256 ${step.sha256}, the signed index lists ${part.sha256})${step.changed ? '; the file changed while it was read' : ''}`;
        const message =
          purpose === 'spool'
            ? `${shown} does not match the signed parts index ${why}; refused, the parts already spooled are kept`
            : `a second copy, ${shown}, does not match the signed parts index ${why}; the spooled part stands`;
        await this.reject(entry, copy, 'PART_CORRUPT', message, Infinity);
        return;
      }
    } catch (err) {
      if (job !== undefined) await this.io.copyCancel(job).catch(() => undefined);
      if (tmp) await fsp.rm(tmp, { force: true });
      // Stopping: the copy is read again after the restart; nothing was wrong with it.
      if (this.closed) return;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.copies.delete(copy.path); // the stick went while it was read: nothing wrong with the part
        return;
      }
      const e = toAirlockError(err);
      const forGood = e.code === 'WRONG_TYPE' || e.code === 'PART_CORRUPT';
      const until = forGood ? Infinity : this.now() + RETRY_MS;
      entry.judged.set(fp, until);
      const message = e.message.startsWith(copy.path)
        ? `${shown}: ${e.message.slice(copy.path.length).replace(/^[: ]+/, '')}`
        : `${shown}: ${e.message}`;
      await this.reject(entry, copy, e.code, forGood ? message : `${message} (tried again in ${RETRY_MS / 1000} s)`, until);
      if (e.code === 'STALLED' && this.io instanceof SpoolWorker) await this.io.restart();
    }
  }

  /** A step of the worker that does not answer within the stall time is given up. */
  private guarded<T>(step: Promise<T>, shown: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new AirlockError('STALLED', `${shown}: no progress for ${this.o.stallMs / 1000} s while reading it`)),
        this.o.stallMs,
      );
      step.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private async checkSpace(bytes: number): Promise<void> {
    const s = await statfs(this.o.root);
    const free = s.bavail * s.bsize;
    if (free < bytes + SPACE_RESERVE)
      throw new AirlockError('INSUFFICIENT_SPACE', `the store has ${free} bytes free; spooling needs ${bytes} and a reserve of ${SPACE_RESERVE}`, {
        path: this.o.root,
      });
  }

  private async spooled(entry: Entry, copy: Copy, part: IndexPart, tmp: string): Promise<void> {
    await commitPart(this.o.root, entry.key, tmp, part.name);
    entry.spooled.add(part.name);
    const at = new Date(this.now()).toISOString();
    entry.record.parts.push({ name: part.name, from: copy.path, stick: copy.stick.label, stickPath: copy.stick.path, media: copy.stick.media, at });
    entry.record.lastActivity = at;
    await saveRecord(this.o.root, entry.record);
    const i = entry.parts.indexOf(part);
    this.o.audit({
      event: 'part-spooled',
      ...this.recordId(entry),
      location: copy.path,
      message: `part ${part.name} (${i + 1} of ${entry.parts.length}) from ${describeStick(copy.stick)} verified against the signed parts index and spooled`,
    });
    entry.run?.part(part.name);
    this.maybeUnpack(entry);
    this.publish(entry, true);
    this.maybeComplete(entry);
  }

  private async duplicate(entry: Entry, copy: Copy, part: IndexPart): Promise<void> {
    entry.record.duplicates++;
    await saveRecord(this.o.root, entry.record);
    this.o.log.info({ spool: entry.key, part: part.name, path: copy.path }, 'second copy of a spooled part matches; ignored');
    this.publish(entry, true);
  }

  private async reject(entry: Entry, copy: PartCopy, code: string, message: string, until: number): Promise<void> {
    const r: PartsRejection = rejection({
      part: copy.part,
      stick: describeStick(copy.stick),
      path: copy.path,
      code,
      message,
      at: new Date(this.now()).toISOString(),
    });
    entry.record.rejected = [...entry.record.rejected, r].slice(-20);
    await saveRecord(this.o.root, entry.record);
    this.o.audit({ event: 'part-rejected', ...this.recordId(entry), location: copy.path, code: code as AuditInput['code'], message: r.message });
    this.o.log.warn({ spool: entry.key, part: copy.part, path: copy.path, code, retry: Number.isFinite(until) }, 'parts spool: copy refused');
    this.publish(entry, true);
  }

  private recordId(entry: Entry): { recordId?: string } {
    const id = this.o.recordAt(entry.location)?.id;
    return id ? { recordId: id } : {};
  }

  /** Start unpacking once the first part is in (the head, with the manifest and its signatures, is there). */
  private maybeUnpack(entry: Entry): void {
    if (this.closed || entry.unpack !== 'none' || entry.state !== 'spooling' || !entry.spooled.has(entry.parts[0]!.name)) return;
    if ([...this.entries.values()].filter((e) => e.unpack === 'running').length >= MAX_UNPACKERS) return;
    entry.unpack = 'running';
    this.ioUsedAt = this.now();
    entry.run = new UnpackRun(
      this.io,
      {
        dir: path.dirname(entry.location),
        indexName: entry.record.indexName,
        trust: this.o.trust,
        threshold: this.o.threshold,
        maxManifestBytes: this.o.maxManifestBytes,
        spooled: [...entry.spooled],
      },
      (m) => this.unpacked(entry, m),
    );
  }

  private unpacked(entry: Entry, m: UnpackMessage): void {
    if (entry.unpack !== 'running') return;
    if (m.type === 'progress') {
      entry.unpackedParts = m.unpackedParts;
      this.publish(entry);
      return;
    }
    entry.run = undefined;
    if (m.type === 'failed' && m.code === 'ABORTED' && (entry.unpackRestarts = (entry.unpackRestarts ?? 0) + 1) <= 3) {
      // The worker went (a hung stick made it restart): unpacking starts over from the spooled parts.
      entry.unpack = 'none';
      if (!this.closed) this.maybeUnpack(entry);
      return;
    }
    if (m.type === 'done') {
      entry.unpack = 'done';
      entry.unpackedParts = entry.parts.length;
      this.o.log.info(
        { spool: entry.key, bytesVerified: m.bytesVerified, files: m.filesVerified },
        'every entry unpacked and verified as the parts arrived',
      );
    } else {
      // The install reads the spooled parts itself and says what is wrong (with the failure's own code).
      entry.unpack = 'failed';
      this.o.log.warn({ spool: entry.key, code: m.code, message: m.message }, 'unpacking the spooled parts stopped; the install reads them itself');
    }
    this.maybeComplete(entry);
    for (const other of this.entries.values()) this.maybeUnpack(other);
  }

  /** Every part spooled, and unpacked (or unpacking given up, or no unpacker free): the pipeline installs it. */
  private maybeComplete(entry: Entry): void {
    if (entry.state !== 'spooling' || entry.spooled.size < entry.parts.length) return;
    if (entry.unpack === 'running') return;
    if (entry.unpack === 'none') {
      this.maybeUnpack(entry);
      if (entry.run) return;
    }
    entry.state = 'complete';
    this.o.log.info({ spool: entry.key, unpacked: entry.unpack === 'done' }, 'every part spooled; installing');
    this.o.arrivals({ type: 'complete', candidate: this.candidate(entry), progress: this.progress(entry), fingerprint: `spool:${entry.key}` });
  }

  private candidate(entry: Entry): Candidate {
    return { form: 'split', location: entry.location, root: this.o.root, media: false };
  }

  private progress(entry: Entry): ArrivalProgress {
    const received = entry.spooled.size;
    const bytesReceived = entry.parts.reduce((n, p) => n + (entry.spooled.has(p.name) ? p.size : 0), 0);
    const counts = new Map<string, StickCount>();
    for (const p of entry.record.parts) {
      const c = counts.get(p.stickPath) ?? { stick: { label: p.stick, path: p.stickPath, media: p.media }, parts: 0 };
      c.parts++;
      counts.set(p.stickPath, c);
    }
    const reading = this.reading?.key === entry.key ? this.reading : undefined;
    const sticks = stickStates(this.viewOf(entry), this.copiesOf(entry), counts.values(), reading?.path);
    const parts = partsArrival({
      total: entry.parts.length,
      received,
      bytesReceived,
      bytesTotal: entry.bytesTotal,
      sticks,
      rejected: entry.record.rejected,
      duplicates: entry.record.duplicates,
      unpackedParts: entry.unpackedParts,
      ...(reading ? { reading: { part: reading.part, stick: reading.stick, bytesDone: reading.bytesDone, bytes: reading.bytes } } : {}),
    });
    // The same model as a folder bundle: bytes on disk, and bytes verified (each spooled part matched the signed index).
    return {
      bytesPresent: bytesReceived + (reading?.bytesDone ?? 0),
      bytesExpected: entry.bytesTotal,
      bytesVerified: bytesReceived,
      staging: received === entry.parts.length ? 'staged' : 'staging',
      parts,
    };
  }

  /** Tell the pipeline how the spool stands (at most every PROGRESS_EVERY_MS while reading, at once on any change). */
  private publish(entry: Entry, force = false): void {
    if (entry.state === 'done') return;
    const now = this.now();
    if (!force && now - entry.lastPublishedAt < PROGRESS_EVERY_MS) {
      entry.behind = true; // told at the next tick past the interval
      return;
    }
    entry.behind = false;
    const progress = this.progress(entry);
    const key = JSON.stringify(progress);
    if (key === entry.lastPublished) return;
    entry.lastPublished = key;
    entry.lastPublishedAt = now;
    if (entry.state === 'complete') {
      this.o.arrivals({ type: 'complete', candidate: this.candidate(entry), progress, fingerprint: `spool:${entry.key}` });
      return;
    }
    this.o.arrivals({ type: 'arriving', candidate: this.candidate(entry), progress });
  }

  private async finishInstalled(entry: Entry): Promise<void> {
    this.removeEntry(entry);
    if (this.o.removeAfterInstall) await this.removeDropCopies(entry);
    await removeSpool(this.o.root, entry.key);
    this.o.log.info({ spool: entry.key }, 'installed from the parts spool; spool removed');
  }

  /** removeAfterInstall: the index and parts left in drop folders go too (never anything on a stick). */
  private async removeDropCopies(entry: Entry): Promise<void> {
    const folders = new Set<string>();
    for (const l of entry.record.locations) folders.add(path.dirname(l));
    for (const p of entry.record.parts) folders.add(path.dirname(p.from));
    for (const folder of folders) {
      const index = path.join(folder, entry.record.indexName);
      await removeDrop({ form: 'split', location: index, media: false }, this.o.dropFolders).catch((err: unknown) =>
        this.o.log.warn({ err, folder }, 'could not remove installed parts from a drop folder'),
      );
    }
  }

  private async reclaim(): Promise<void> {
    const activity = [...this.entries.values()].map((e) => {
      const rec = this.o.recordAt(e.location);
      return {
        key: e.key,
        lastActivity: Date.parse(e.record.lastActivity),
        busy: rec?.state === 'queued' || rec?.state === 'verifying' || this.reading?.key === e.key,
      };
    });
    for (const key of abandonedSpools(activity, this.now(), this.o.abandonAfterMs)) {
      const entry = this.entries.get(key)!;
      this.removeEntry(entry);
      await removeSpool(this.o.root, key);
      this.o.log.warn({ spool: key, lastActivity: entry.record.lastActivity }, 'abandoned parts spool reclaimed');
      this.o.arrivals({ type: 'gone', candidate: this.candidate(entry) });
    }
  }
}

/** For a file inside `<base>.airlock.parts.signatures/` or `<base>.airlock.signatures/`, the index it belongs to. */
function signatureOwner(p: string): string | undefined {
  for (const dir of [path.dirname(p), p]) {
    const name = path.basename(dir);
    for (const suffix of [PARTS_SIGNATURES_SUFFIX, SIDECAR_SIGNATURES_SUFFIX]) {
      if (name.endsWith(suffix) && name.length > suffix.length)
        return path.join(path.dirname(dir), name.slice(0, -suffix.length) + PARTS_INDEX_SUFFIX);
    }
  }
  return undefined;
}
