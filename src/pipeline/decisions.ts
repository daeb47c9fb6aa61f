// Pure decisions of the pipeline: record ids, idempotence, rejected vs failed, retention.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AuditInput } from '../daemon/audit.js';
import type { ErrorCode } from '../errors.js';
import { TERMINAL_STATES, type BundleRecord, type BundleState, type ProcessedEntry } from './types.js';

/** A stable, readable id for the bundle at `location`: `<name-slug>-<8 hex of sha256(location)>`. */
export function recordIdFor(location: string): string {
  const base = path.basename(location).replace(/\.airlock\.(tar|parts\.json)$/, '');
  const slug = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48) || 'bundle';
  return `${slug}-${createHash('sha256').update(location).digest('hex').slice(0, 8)}`;
}

// Errors of the host rather than of the bundle: the bundle is not to blame and may be retried as is.
const HOST_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'IO_ERROR', 'INTERNAL', 'INSUFFICIENT_SPACE', 'STORE_INVALID', 'STORE_BUSY', 'CONFIG_INVALID', 'TRUST_INVALID',
]);

export function outcomeForError(code: ErrorCode): 'rejected' | 'failed' {
  return HOST_FAILURES.has(code) ? 'failed' : 'rejected';
}

/** A complete arrival whose content is exactly what this record already finished with needs nothing. */
export function isUnchangedFinished(rec: BundleRecord | undefined, fingerprint: string): boolean {
  return rec !== undefined && TERMINAL_STATES.has(rec.state) && rec.fingerprint === fingerprint;
}

export type ProcessingDecision = { kind: 'process' } | { kind: 'skip'; state: BundleState; note: string };

/**
 * Idempotence by manifest digest: a digest already installed is not installed again (wherever it was dropped);
 * a digest rejected before is skipped only if it is the same drop, unchanged. A changed drop is processed again,
 * so a corrupted copy replaced by a good one with the same manifest still installs.
 */
export function processingDecision(prior: ProcessedEntry | undefined, recordId: string, location: string, fingerprint: string): ProcessingDecision {
  if (!prior) return { kind: 'process' };
  if (prior.outcome === 'installed') {
    const where = prior.recordId === recordId ? 'before' : `from ${prior.location}`;
    return { kind: 'skip', state: 'installed', note: `already installed ${where} (same manifest digest)` };
  }
  if (prior.location === location && prior.fingerprint === fingerprint) {
    return { kind: 'skip', state: 'rejected', note: 'already rejected (same manifest digest, unchanged)' };
  }
  return { kind: 'process' };
}

/** Bytes per second since `startedAt`, or undefined when too early to say. */
export function rateOf(bytesDone: number, startedAt: number, now: number): number | undefined {
  const seconds = (now - startedAt) / 1000;
  return seconds >= 0.2 ? Math.round(bytesDone / seconds) : undefined;
}

/** Keep every unfinished record and the newest `keep` finished ones. */
export function pruneRecords(records: BundleRecord[], keep: number): BundleRecord[] {
  const finished = records.filter((r) => TERMINAL_STATES.has(r.state)).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const drop = new Set(finished.slice(keep).map((r) => r.id));
  return records.filter((r) => !drop.has(r.id));
}

/** The bundle fields every audit event carries, as far as they are known. */
export function auditIdentity(rec: BundleRecord): Omit<AuditInput, 'event'> {
  const out: Omit<AuditInput, 'event'> = { recordId: rec.id, location: rec.location };
  if (rec.bundleId !== undefined) out.bundleId = rec.bundleId;
  if (rec.name !== undefined) out.name = rec.name;
  if (rec.channel !== undefined) out.channel = rec.channel;
  if (rec.sequence !== undefined) out.sequence = rec.sequence;
  if (rec.manifestDigest !== undefined) out.manifestDigest = rec.manifestDigest;
  return out;
}
