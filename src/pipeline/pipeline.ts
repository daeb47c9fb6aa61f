// The daemon's workflow: arrivals become records, complete ones queue in arrival order, one verifies and
// installs at a time (in a worker, through the Installer), then the Deployer starts it. State survives restarts.
import type { SourceRef } from '../bundle/source.js';
import { fsRef } from '../bundle/sources.js';
import { AirlockError, toAirlockError, type ErrorCode } from '../errors.js';
import type { AuditInput } from './audit-events.js';
import type { ArrivalEvent } from '../watcher/arrival-tracker.js';
import type { Candidate } from '../watcher/candidates.js';
import { runAfterInstall, type AfterInstallSteps } from './after-install.js';
import {
  auditIdentity,
  boundedSigners,
  boundedTrust,
  duplicateNote,
  isUnchangedFinished,
  outcomeForError,
  processingDecision,
  pruneProcessed,
  pruneRecords,
  rateOf,
  recordIdFor,
  truthfulRecord,
} from './decisions.js';
import type { Deployer, DeploymentStore, InstallOutcome, Installer } from './ports.js';
import { systemClock, type Clock } from '../util/clock.js';
import { StallGuard } from './stall-guard.js';
import { readStateFile, StateWriter, STATE_SCHEMA_VERSION, type DaemonStateDocument } from './state-file.js';
import { TERMINAL_STATES, type BundleRecord, type BundleState, type DuplicateOf, type ProcessedEntry } from './types.js';
import type { SignerReport } from '../trust/policy.js';

export interface PipelineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PipelineHooks {
  audit(e: AuditInput): void;
  /** a record changed (state or progress): for SSE */
  changed(rec: BundleRecord): void;
  /** a bundle reached a finished state: for metrics */
  finished?(f: FinishedBundle): void;
}

/** What the metrics learn of each finished bundle. */
export interface FinishedBundle {
  outcome: 'installed' | 'rejected' | 'failed' | 'duplicate';
  /** rejected or failed: the error code */
  code?: ErrorCode;
  /** the model (manifest name) once known */
  name?: string;
  /** from the start of verification to the outcome; absent when the bundle was not verified again (rejected before) */
  seconds?: number;
  bytesVerified?: number;
  filesVerified?: number;
}

export interface PipelineOptions {
  stateFile: string;
  installer: Installer;
  deployer?: Deployer;
  deployments?: DeploymentStore;
  hooks: PipelineHooks;
  log: PipelineLogger;
  dropFolders: string[];
  removeAfterInstall: boolean;
  /** finished records kept (config retention.bundles) */
  retention: number;
  /** of which rejected or failed, at most (config retention.rejected; default `retention`) */
  retainRejected?: number;
  /** a step with no progress for this long ends the bundle `failed` STALLED (config limits.stallSeconds; default 60 s) */
  stallMs?: number;
  /** how long stop() waits for an aborted step to wind down before abandoning it (default 2000 ms) */
  stopGraceMs?: number;
  /** the state file cannot be written (repeatedly, or a write hangs): the daemon must exit */
  onFatal?: (err: unknown) => void;
  clock?: Clock;
  /** how often verification progress is published, at most */
  progressIntervalMs?: number;
}

export const DEFAULT_STALL_MS = 300_000;

interface QueueEntry {
  id: string;
  force: boolean;
}

export class Pipeline {
  private readonly byId = new Map<string, BundleRecord>();
  private processed: Record<string, ProcessedEntry> = {};
  private readonly queue: QueueEntry[] = [];
  private readonly deferred = new Map<string, () => void>();
  private current: { id: string; controller: AbortController; guard: StallGuard; reason?: 'changed' | 'stopping' } | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  /** aborted by stop(): what runs after an install (a deploy waiting for readiness) is abandoned, not awaited */
  private readonly shutdown = new AbortController();
  private readonly writer: StateWriter;
  private readonly clock: Clock;

  constructor(private readonly o: PipelineOptions) {
    this.clock = o.clock ?? systemClock;
    this.writer = new StateWriter(o.stateFile, () => this.document(), {
      onError: (err) => o.log.error({ err }, 'cannot write the daemon state; trying again'),
      onFatal: o.onFatal ?? ((err) => o.log.error({ err }, 'cannot write the daemon state')),
    });
  }

  /** Read the state file. Unfinished records are forgotten: the watcher's first scan finds them again and they start over. */
  async load(): Promise<void> {
    const doc = await readStateFile(this.o.stateFile);
    if (!doc) return;
    // Ids are derived again (records from before 16-hex ids get today's), and the caps apply to an old file too.
    const renamed = new Map<string, string>();
    for (const r of doc.records) {
      if (!TERMINAL_STATES.has(r.state)) continue;
      const id = this.idFor(r.location);
      if (id !== r.id) renamed.set(r.id, id);
      this.byId.set(id, truthfulRecord({ ...r, id }));
    }
    this.processed = Object.fromEntries(
      Object.entries(doc.processed).map(([d, e]) => [d, { ...e, recordId: renamed.get(e.recordId) ?? e.recordId }]),
    );
    this.prune();
  }

  /** Finished drops and the content they finished with, so an unchanged drop is not reported again after a restart. */
  finishedFingerprints(): Array<{ location: string; fingerprint: string }> {
    return this.records().flatMap((r) =>
      TERMINAL_STATES.has(r.state) && r.fingerprint ? [{ location: r.location, fingerprint: r.fingerprint }] : [],
    );
  }

  records(): BundleRecord[] {
    return [...this.byId.values()].sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
  }

  get(id: string): BundleRecord | undefined {
    return this.byId.get(id);
  }

  /** ids waiting, in order; the one verifying is `verifying()` */
  queued(): string[] {
    return this.queue.map((q) => q.id);
  }

  verifying(): string | undefined {
    return this.current?.id;
  }

  handle(e: ArrivalEvent): void {
    if (this.stopping) return;
    const id = this.idFor(e.candidate.location);
    const rec = this.byId.get(id);
    // A container start can take many minutes; news about its drop waits until the deploy is over.
    if (rec?.state === 'deploying') {
      this.deferred.set(id, () => this.handle(e));
      return;
    }
    if (e.type === 'gone') return this.onGone(rec);
    if (e.type === 'complete' && isUnchangedFinished(rec, e.fingerprint)) return;
    const r = rec && !TERMINAL_STATES.has(rec.state) ? rec : this.fresh(id, e.candidate, rec);
    r.arrival = e.progress;
    if (e.type === 'arriving') {
      this.leaveQueue(r);
      this.update(r, 'arriving');
      return;
    }
    r.fingerprint = e.fingerprint;
    if (r.state === 'verifying' || r.state === 'queued') return;
    this.enqueue(r, false);
  }

  /**
   * A bundle from a source that is not watched on disk (a registry subscription): complete as offered, queued
   * unless this very content (`fingerprint`) already finished or is under way. Returns its record id.
   */
  offer(o: { source: SourceRef; location: string; form: BundleRecord['form']; fingerprint: string }): string {
    const id = this.idFor(o.location);
    if (this.stopping) return id;
    const rec = this.byId.get(id);
    if (rec?.state === 'deploying') {
      this.deferred.set(id, () => this.offer(o));
      return id;
    }
    if (isUnchangedFinished(rec, o.fingerprint)) return id;
    if (rec && !TERMINAL_STATES.has(rec.state) && rec.fingerprint === o.fingerprint) return id;
    const r =
      rec && !TERMINAL_STATES.has(rec.state) ? rec : this.fresh(id, { location: o.location, source: o.source, form: o.form, media: false }, rec);
    r.source = o.source;
    r.fingerprint = o.fingerprint;
    if (r.state === 'verifying') this.leaveQueue(r); // other content under the same name: start over with it
    this.enqueue(r, false);
    return id;
  }

  /**
   * A drop refused before it could be read as a bundle (a parts index whose signatures do not hold: src/spool/):
   * recorded rejected with its failures and the index's signers, once per content (`fingerprint`).
   */
  refuse(c: Candidate, err: AirlockError, fingerprint: string, signers?: readonly SignerReport[]): void {
    if (this.stopping) return;
    const id = this.idFor(c.location);
    const prior = this.byId.get(id);
    if (isUnchangedFinished(prior, fingerprint) || prior?.state === 'deploying' || this.current?.id === id) return;
    const rec = prior && !TERMINAL_STATES.has(prior.state) ? prior : this.fresh(id, c, prior);
    this.leaveQueue(rec);
    rec.fingerprint = fingerprint;
    if (signers) Object.assign(rec, boundedSigners(signers));
    rec.error = {
      code: err.code,
      message: err.message,
      failures: err.failures,
      failureCount: err.failureCount,
      ...(err.path ? { path: err.path } : {}),
    };
    this.o.hooks.audit({
      event: 'rejected',
      code: err.code,
      message: err.message,
      failures: err.failures,
      failureCount: err.failureCount,
      ...auditIdentity(rec),
    });
    this.o.hooks.finished?.({ outcome: 'rejected', code: err.code as ErrorCode });
    this.update(rec, 'rejected');
  }

  /** POST /v1/bundles/:id/retry (actor api), or a registry subscription retrying a failure (actor registry). */
  retry(id: string, actor: 'api' | 'registry' = 'api'): BundleRecord {
    const rec = this.byId.get(id);
    if (!rec) throw new AirlockError('NOT_FOUND', `no bundle ${id}`, { path: id });
    if (!RETRYABLE.has(rec.state))
      throw new AirlockError(
        'CONFLICT',
        `bundle ${id} is ${rec.state}; only a rejected, failed or duplicate bundle can be retried${TERMINAL_STATES.has(rec.state) ? ' (this one is installed)' : ''}`,
        { path: id },
      );
    this.o.hooks.audit({ event: 'retry', actor, ...auditIdentity(rec) });
    this.enqueue(rec, true);
    return rec;
  }

  /**
   * Stop taking work; abort the current verification (it starts over after a restart) and save state.
   * A step that does not wind down within the grace period (a read that never returns) is abandoned.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort();
    if (this.current) {
      this.current.reason = 'stopping';
      this.current.controller.abort();
    }
    const grace = setTimeout(() => this.current?.guard.abandon(new AirlockError('ABORTED', 'abandoned at shutdown')), this.o.stopGraceMs ?? 2000);
    try {
      await this.running;
    } finally {
      clearTimeout(grace);
    }
    await this.writer.flush();
  }

  /** The record id for `location`: never one that already belongs to another location. */
  private idFor(location: string): string {
    return recordIdFor(location, (id) => this.byId.get(id)?.location);
  }

  private fresh(
    id: string,
    c: Pick<Candidate, 'location' | 'media' | 'source'> & { form: BundleRecord['form']; root?: string },
    previous: BundleRecord | undefined,
  ): BundleRecord {
    const now = this.clock().toISOString();
    const rec: BundleRecord = {
      id,
      location: c.location,
      source: c.source ?? fsRef(c.location, c.root ?? c.location),
      form: c.form,
      media: c.media,
      state: 'arriving',
      arrival: { bytesPresent: 0 },
      verification: { bytesDone: 0, bytesTotal: 0 },
      detectedAt: now,
      updatedAt: now,
    };
    this.byId.set(id, rec);
    this.o.hooks.audit({
      event: 'detected',
      recordId: id,
      location: c.location,
      ...(previous?.manifestDigest ? { message: 'content changed' } : {}),
    });
    return rec;
  }

  private onGone(rec: BundleRecord | undefined): void {
    if (!rec) return;
    if (TERMINAL_STATES.has(rec.state)) {
      if (!rec.removed) this.o.log.info({ recordId: rec.id, location: rec.location }, 'bundle no longer in its drop location');
      return;
    }
    if (this.current?.id === rec.id) return; // the install fails by itself and says why
    this.leaveQueue(rec);
    this.byId.delete(rec.id);
    this.o.hooks.audit({ event: 'gone', ...auditIdentity(rec) });
    void this.writer.save();
  }

  private enqueue(rec: BundleRecord, force: boolean): void {
    this.leaveQueue(rec);
    this.queue.push({ id: rec.id, force });
    this.update(rec, 'queued');
    this.kick();
  }

  private leaveQueue(rec: BundleRecord): void {
    const i = this.queue.findIndex((q) => q.id === rec.id);
    if (i >= 0) this.queue.splice(i, 1);
    // New bytes under a bundle being verified: stop, it is verified again once it is quiet.
    if (this.current?.id === rec.id) {
      this.current.reason = 'changed';
      this.current.controller.abort();
    }
  }

  private kick(): void {
    if (this.running || this.stopping) return;
    this.running = (async () => {
      for (let next = this.queue.shift(); next && !this.stopping; next = this.queue.shift()) {
        const rec = this.byId.get(next.id);
        if (rec) await this.processOne(rec, next.force);
      }
    })()
      .catch((err: unknown) => this.o.log.error({ err }, 'pipeline stopped unexpectedly'))
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0 && !this.stopping) this.kick();
      });
  }

  private async processOne(rec: BundleRecord, force: boolean): Promise<void> {
    const controller = new AbortController();
    // A step that stops making progress is given up; its signal is aborted so it can wind down if it still runs.
    const guard = new StallGuard(this.o.stallMs ?? DEFAULT_STALL_MS, () => controller.abort());
    const attempt = { id: rec.id, controller, guard };
    this.current = attempt;
    const started = Date.now();
    delete rec.error;
    delete rec.note;
    delete rec.signerCount;
    delete rec.duplicateOf;
    rec.verification = { bytesDone: 0, bytesTotal: 0, startedAt: new Date(started).toISOString() };
    this.update(rec, 'verifying');
    try {
      const identity = await guard.run(this.o.installer.identify(sourceOf(rec)), 'reading its manifest and signatures');
      Object.assign(rec, {
        bundleId: identity.bundleId,
        name: identity.name,
        kind: identity.kind,
        channel: identity.channel,
        sequence: identity.sequence,
        manifestDigest: identity.manifestDigest,
        ...boundedSigners(identity.signers),
      });
      // Rejected from its head alone (signatures, manifest, expiry): no payload byte is read.
      if (identity.rejected)
        throw new AirlockError(identity.rejected.failures[0]?.code ?? 'INTERNAL', identity.rejected.message, {
          failures: identity.rejected.failures,
          failureCount: identity.rejected.failureCount,
        });
      const decision = force
        ? ({ kind: 'process' } as const)
        : processingDecision(this.processed[identity.manifestDigest], rec.location, rec.fingerprint ?? '');
      if (decision.kind === 'duplicate') {
        this.settleDuplicate(rec, { bundleId: identity.bundleId ?? 'unknown', ...decision.of }, started);
        return;
      }
      if (decision.kind === 'rejected-before') {
        rec.note = decision.note;
        if (decision.code) rec.error = { code: decision.code, message: decision.note, failures: [] };
        this.o.hooks.audit({ event: 'rejected', message: decision.note, ...(decision.code ? { code: decision.code } : {}), ...auditIdentity(rec) });
        this.o.hooks.finished?.({ outcome: 'rejected', ...(decision.code ? { code: decision.code } : {}), ...nameOf(rec) });
        this.update(rec, 'rejected');
        return;
      }
      this.update(rec, 'verifying');
      const install = this.o.installer.install(sourceOf(rec), {
        signal: controller.signal,
        onProgress: (p) => {
          // An abandoned attempt that still reports must not touch the record any more.
          if (this.current !== attempt) return;
          guard.touch();
          this.progress(rec, p.phase, p.bytesDone, p.bytesTotal, started);
        },
      });
      const result = await guard.run(install, 'verifying it');
      await this.installed(rec, result, started);
    } catch (err) {
      this.settleError(rec, err, started);
    } finally {
      this.current = undefined;
    }
    if (rec.state === 'installed' && rec.install?.status === 'installed') await this.afterInstall(rec);
    const later = this.deferred.get(rec.id);
    if (later) {
      this.deferred.delete(rec.id);
      later();
    }
  }

  private progress(rec: BundleRecord, phase: BundleRecord['verification']['phase'], bytesDone: number, bytesTotal: number, started: number): void {
    const now = Date.now();
    const rate = rateOf(bytesDone, started, now);
    rec.verification = { ...rec.verification, phase, bytesDone, bytesTotal, ...(rate === undefined ? {} : { rate }) };
    const last = Date.parse(rec.updatedAt);
    if (now - last >= (this.o.progressIntervalMs ?? 250) || bytesDone === bytesTotal) {
      rec.updatedAt = new Date(now).toISOString();
      this.o.hooks.changed(rec);
    }
  }

  private async installed(rec: BundleRecord, result: InstallOutcome, started: number): Promise<void> {
    const durationMs = Date.now() - started;
    rec.trust = boundedTrust(result.trust);
    delete rec.signerCount;
    rec.signers = rec.trust.signers;
    if (rec.trust.signerCount !== undefined) rec.signerCount = rec.trust.signerCount;
    // The store already holds this very manifest: nothing was read past the signatures, nothing installed.
    if (result.status === 'already-installed') return this.settleDuplicate(rec, { bundleId: result.bundleId, path: result.path }, started);
    rec.install = {
      status: result.status,
      path: result.path,
      bytesVerified: result.bytesVerified,
      ...(result.bytesPrestaged === undefined ? {} : { bytesPrestaged: result.bytesPrestaged }),
      durationMs: result.durationMs,
    };
    rec.verification = { ...rec.verification, bytesDone: rec.verification.bytesTotal || result.bytesVerified, durationMs };
    this.processed[result.manifestDigest] = {
      outcome: 'installed',
      recordId: rec.id,
      location: rec.location,
      fingerprint: rec.fingerprint ?? '',
      at: this.clock().toISOString(),
    };
    const signers = result.trust.signers
      .filter((s) => s.status === 'trusted')
      .map((s) => ({ principals: s.principals, status: s.status, ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}) }));
    this.o.hooks.audit({ event: 'accepted', signers, ...auditIdentity(rec) });
    this.o.hooks.audit({ event: 'installed', message: `installed at ${result.path}`, ...auditIdentity(rec) });
    this.o.hooks.finished?.({
      outcome: 'installed',
      ...nameOf(rec),
      seconds: durationMs / 1000,
      bytesVerified: result.bytesVerified,
      filesVerified: result.filesVerified,
    });
    this.update(rec, 'installed');
  }

  /** The drop repeats an installed bundle: said so, with which one, and never as if it had been verified. */
  private settleDuplicate(rec: BundleRecord, of: DuplicateOf, started: number): void {
    delete rec.install;
    rec.duplicateOf = of;
    rec.note = duplicateNote(of, rec.location);
    rec.verification = { ...rec.verification, bytesDone: 0, durationMs: Date.now() - started };
    const signers = (rec.signers ?? [])
      .filter((s) => s.status === 'trusted')
      .map((s) => ({ principals: s.principals, status: s.status, ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}) }));
    this.o.hooks.audit({ event: 'duplicate', message: rec.note, ...(signers.length ? { signers } : {}), ...auditIdentity(rec) });
    this.o.hooks.finished?.({ outcome: 'duplicate', ...nameOf(rec) });
    this.update(rec, 'duplicate');
  }

  private settleError(rec: BundleRecord, err: unknown, started: number): void {
    const reason = this.current?.reason;
    if (reason === 'changed') return; // already back to arriving; it queues again once quiet
    if (reason === 'stopping') {
      this.o.log.info({ recordId: rec.id }, 'verification interrupted by shutdown; it starts over on the next start');
      return;
    }
    const e = toAirlockError(err);
    const outcome = outcomeForError(e.code);
    rec.error = {
      code: e.code,
      message: e.message,
      failures: e.failures,
      failureCount: e.failureCount,
      ...(e.path === undefined ? {} : { path: e.path }),
    };
    rec.verification = { ...rec.verification, durationMs: Date.now() - started };
    if (outcome === 'rejected' && rec.manifestDigest) {
      this.processed[rec.manifestDigest] = {
        outcome: 'rejected',
        code: e.code,
        recordId: rec.id,
        location: rec.location,
        fingerprint: rec.fingerprint ?? '',
        at: this.clock().toISOString(),
      };
    }
    if (outcome === 'failed') this.o.log.error({ err: e, recordId: rec.id }, 'install failed');
    this.o.hooks.audit({
      event: outcome,
      code: e.code,
      message: e.message,
      failures: e.failures,
      failureCount: e.failureCount,
      ...auditIdentity(rec),
    });
    this.o.hooks.finished?.({ outcome, code: e.code, ...nameOf(rec), seconds: (Date.now() - started) / 1000 });
    this.update(rec, outcome);
  }

  private async afterInstall(rec: BundleRecord): Promise<void> {
    const steps: AfterInstallSteps = {
      dropFolders: this.o.dropFolders,
      removeAfterInstall: this.o.removeAfterInstall,
      audit: (e) => this.o.hooks.audit(e),
      changed: (r) => this.o.hooks.changed(r),
      setState: (r, state) => this.update(r, state),
      log: this.o.log,
      now: () => this.clock().toISOString(),
      signal: this.shutdown.signal,
      ...(this.o.deployer ? { deployer: this.o.deployer } : {}),
    };
    await runAfterInstall(rec, steps);
  }

  private update(rec: BundleRecord, state: BundleState): void {
    rec.state = state;
    rec.updatedAt = this.clock().toISOString();
    this.o.hooks.changed(rec);
    if (TERMINAL_STATES.has(state)) this.prune();
    void this.writer.save();
  }

  private prune(): void {
    const kept = new Set(pruneRecords([...this.byId.values()], this.o.retention, this.o.retainRejected).map((r) => r.id));
    for (const id of [...this.byId.keys()]) if (!kept.has(id)) this.byId.delete(id);
    this.processed = pruneProcessed(this.processed, kept, this.o.retention);
  }

  private document(): DaemonStateDocument {
    return { schema: STATE_SCHEMA_VERSION, records: this.records(), processed: this.processed };
  }
}

/** Finished bundles that may be verified again on request: installed ones are refused (nothing to retry). */
const RETRYABLE: ReadonlySet<BundleState> = new Set(['rejected', 'failed', 'duplicate']);

function nameOf(rec: BundleRecord): { name?: string } {
  return rec.name === undefined ? {} : { name: rec.name };
}

/** Where a record's bundle is read from; records from before sources were kept are drops on disk. */
function sourceOf(rec: BundleRecord): SourceRef {
  return rec.source ?? fsRef(rec.location);
}
