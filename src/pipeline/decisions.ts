// Pure decisions of the pipeline: record ids, idempotence, rejected vs failed, retention, paging.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AuditInput } from './audit-events.js';
import { capText, MAX_FAILURE_TEXT, MAX_REPORTED_FAILURES, type ErrorCode } from '../errors.js';
import type { SignerReport, TrustReport } from '../trust/policy.js';
import { TERMINAL_STATES, type BoundedTrustReport, type BundleRecord, type BundleState, type DuplicateOf, type ProcessedEntry } from './types.js';

/** Hex digits of sha256(location) in a record id: 64 bits, so no drop name can be chosen to take another's id. */
export const RECORD_ID_HEX = 16;

/**
 * A stable, readable id for the bundle at `location`: `<name-slug>-<16 hex of sha256(location)>`. When that id
 * already belongs to another location (`holderOf` says whose it is), the whole digest is used instead, so two
 * locations never share a record.
 */
export function recordIdFor(location: string, holderOf?: (id: string) => string | undefined, hexChars = RECORD_ID_HEX): string {
  const base = path.basename(location).replace(/\.airlock\.(tar|parts\.json)$/, '');
  const slug =
    base
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 48) || 'bundle';
  const digest = createHash('sha256').update(location).digest('hex');
  const short = `${slug}-${digest.slice(0, hexChars)}`;
  const holder = holderOf?.(short);
  return holder === undefined || holder === location ? short : `${slug}-${digest}`;
}

// Errors of the host rather than of the bundle: the bundle is not to blame and may be retried as is.
const HOST_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'IO_ERROR',
  'INTERNAL',
  'INSUFFICIENT_SPACE',
  'STORE_INVALID',
  'STORE_BUSY',
  'CONFIG_INVALID',
  'TRUST_INVALID',
  'STALLED',
  // a registry that cannot be reached, refuses the credentials or answers nonsense: try again later
  'REGISTRY_UNREACHABLE',
  'REGISTRY_TLS',
  'REGISTRY_AUTH',
  'REGISTRY_NOT_FOUND',
  'REGISTRY_ERROR',
]);

export function outcomeForError(code: ErrorCode): 'rejected' | 'failed' {
  return HOST_FAILURES.has(code) ? 'failed' : 'rejected';
}

/** A complete arrival whose content is exactly what this record already finished with needs nothing. */
export function isUnchangedFinished(rec: BundleRecord | undefined, fingerprint: string): boolean {
  return rec !== undefined && TERMINAL_STATES.has(rec.state) && rec.fingerprint === fingerprint;
}

export type ProcessingDecision =
  { kind: 'process' } | { kind: 'duplicate'; of: Omit<DuplicateOf, 'bundleId'> } | { kind: 'rejected-before'; code?: ErrorCode; note: string };

/**
 * Idempotence by manifest digest: a digest already installed is not installed again (wherever it was dropped):
 * the drop is a duplicate, its payload never read; a digest rejected before is skipped only if it is the same
 * drop, unchanged. A changed drop is processed again, so a corrupted copy replaced by a good one with the same
 * manifest still installs.
 */
export function processingDecision(prior: ProcessedEntry | undefined, location: string, fingerprint: string): ProcessingDecision {
  if (!prior) return { kind: 'process' };
  if (prior.outcome === 'installed') return { kind: 'duplicate', of: { recordId: prior.recordId, location: prior.location, installedAt: prior.at } };
  if (prior.location === location && prior.fingerprint === fingerprint) {
    return { kind: 'rejected-before', ...(prior.code ? { code: prior.code } : {}), note: 'already rejected (same manifest digest, unchanged)' };
  }
  return { kind: 'process' };
}

/** What a duplicate's card and `airlock status` say: which bundle it repeats, and that its own bytes were not read. */
export function duplicateNote(of: DuplicateOf, location?: string): string {
  const from = of.location === undefined ? '' : of.location === location ? ' from this location' : ` from ${of.location}`;
  const when = of.installedAt === undefined ? '' : ` at ${of.installedAt}`;
  const where = of.path === undefined ? '' : `; it is in the store at ${of.path}`;
  return (
    `duplicate of ${of.bundleId}, installed before${from}${when}${where}. Same signed manifest (signatures checked); ` +
    "this copy's payload was not read and nothing of it is used"
  );
}

/**
 * Records kept before the `duplicate` state existed called a drop `installed` when the same manifest was already
 * installed, though its payload was never read: shown as what they are.
 */
export function truthfulRecord(r: BundleRecord): BundleRecord {
  const fromStore = r.state === 'installed' && r.install?.status === 'already-installed';
  const fromMemory = r.state === 'installed' && r.install === undefined && r.note?.startsWith('already installed') === true;
  if (!fromStore && !fromMemory) return r;
  const { install, ...rest } = r;
  const of: DuplicateOf = { bundleId: r.bundleId ?? 'unknown', ...(install ? { path: install.path } : {}) };
  return { ...rest, state: 'duplicate', duplicateOf: of, note: duplicateNote(of) };
}

/** Bytes per second since `startedAt`, or undefined when too early to say. */
export function rateOf(bytesDone: number, startedAt: number, now: number): number | undefined {
  const seconds = (now - startedAt) / 1000;
  return seconds >= 0.2 ? Math.round(bytesDone / seconds) : undefined;
}

// Outcomes that installed nothing: capped apart, so a flood of junk (or of copies) cannot push installs out.
const UNSUCCESSFUL: ReadonlySet<BundleState> = new Set(['rejected', 'failed', 'duplicate']);

/**
 * Keep every unfinished record and the newest `keep` finished ones, of which at most `keepUnsuccessful`
 * rejected, failed or duplicate: junk drops cannot push out the history of what was installed.
 */
export function pruneRecords(records: BundleRecord[], keep: number, keepUnsuccessful = keep): BundleRecord[] {
  // Newest first; of two finished in the same millisecond, the one later in `records` (detected later).
  const order = new Map(records.map((r, i) => [r.id, i]));
  const finished = records
    .filter((r) => TERMINAL_STATES.has(r.state))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || order.get(b.id)! - order.get(a.id)!);
  const drop = new Set(
    finished
      .filter((r) => UNSUCCESSFUL.has(r.state))
      .slice(keepUnsuccessful)
      .map((r) => r.id),
  );
  const rest = finished.filter((r) => !drop.has(r.id));
  for (const r of rest.slice(keep)) drop.add(r.id);
  return records.filter((r) => !drop.has(r.id));
}

/**
 * The digests remembered for idempotence: every one a kept record refers to, then the newest others
 * up to `keep` in all. A forgotten digest costs only a second look (the store itself refuses a duplicate install).
 */
export function pruneProcessed(
  processed: Record<string, ProcessedEntry>,
  keptRecordIds: ReadonlySet<string>,
  keep: number,
): Record<string, ProcessedEntry> {
  const entries = Object.entries(processed);
  if (entries.length <= keep) return processed;
  const referenced = entries.filter(([, e]) => keptRecordIds.has(e.recordId));
  const others = entries.filter(([, e]) => !keptRecordIds.has(e.recordId)).sort(([, a], [, b]) => b.at.localeCompare(a.at));
  return Object.fromEntries([...referenced, ...others.slice(0, Math.max(0, keep - referenced.length))]);
}

/** Default and largest page of GET /v1/bundles (and the replay of GET /v1/events). */
export const BUNDLE_PAGE = { default: 100, max: 1000 } as const;

export interface BundlePage {
  /** newest first */
  bundles: BundleRecord[];
  total: number;
  /** pass as `before` for the next, older page */
  next?: string;
}

const newestFirst = (a: BundleRecord, b: BundleRecord) => b.detectedAt.localeCompare(a.detectedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The page cursor of a record: its detection time and id, so it stays valid when records are pruned. */
export function pageCursor(r: Pick<BundleRecord, 'detectedAt' | 'id'>): string {
  return `${r.detectedAt}~${r.id}`;
}

/** Up to `limit` records, newest first, strictly older than the `before` cursor when one is given. */
export function pageOfRecords(records: readonly BundleRecord[], limit: number = BUNDLE_PAGE.default, before?: string): BundlePage {
  const sorted = [...records].sort(newestFirst);
  let start = 0;
  if (before !== undefined) {
    const sep = before.indexOf('~');
    const cursor = { detectedAt: before.slice(0, sep), id: before.slice(sep + 1) } as BundleRecord;
    start = sorted.findIndex((r) => newestFirst(cursor, r) < 0);
    if (start < 0) start = sorted.length;
  }
  const bundles = sorted.slice(start, start + limit);
  const last = bundles[bundles.length - 1];
  return { bundles, total: records.length, ...(last && start + limit < sorted.length ? { next: pageCursor(last) } : {}) };
}

/** The first MAX_REPORTED_FAILURES signers, each string capped, and their number when there were more. */
export function boundedSigners(signers: readonly SignerReport[]): { signers: SignerReport[]; signerCount?: number } {
  const capped = signers.slice(0, MAX_REPORTED_FAILURES).map(boundedSigner);
  return signers.length > MAX_REPORTED_FAILURES ? { signers: capped, signerCount: signers.length } : { signers: capped };
}

function boundedSigner(s: SignerReport): SignerReport {
  return {
    ...s,
    signature: capText(s.signature, MAX_FAILURE_TEXT),
    principals: s.principals.slice(0, MAX_REPORTED_FAILURES).map((p) => capText(p, MAX_FAILURE_TEXT)),
    ...(s.message === undefined ? {} : { message: capText(s.message, MAX_FAILURE_TEXT) }),
  };
}

/** A trust report with its signer and failure lists bounded like every other list the daemon keeps. */
export function boundedTrust(t: TrustReport): BoundedTrustReport {
  const signers = boundedSigners(t.signers);
  const failures = t.failures.slice(0, MAX_REPORTED_FAILURES).map((f) => ({
    ...f,
    message: capText(f.message, MAX_FAILURE_TEXT),
    ...(f.path === undefined ? {} : { path: capText(f.path, MAX_FAILURE_TEXT) }),
  }));
  return {
    ...t,
    signers: signers.signers,
    ...(t.partsIndex ? { partsIndex: { ...t.partsIndex, signers: boundedSigners(t.partsIndex.signers).signers } } : {}),
    failures,
    ...(signers.signerCount === undefined ? {} : { signerCount: signers.signerCount }),
    ...(t.failures.length > MAX_REPORTED_FAILURES ? { failureCount: t.failures.length } : {}),
  };
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
