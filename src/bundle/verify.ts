// `verify`: signatures over the exact manifest bytes first (nothing is parsed unless they hold), then the
// manifest, then every payload byte once.
import { AirlockError, FailureList, type Failure } from '../errors.js';
import { expiryFailure, manifestTotals, type ManifestTotals } from '../format/manifest.js';
import { HashPool } from '../hash/hash-pool.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import { evaluateSignatures, type TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { fileSystemSource } from './fs-source.js';
import { evaluatePartsIndex, withPartsIndex } from './parts-trust.js';
import { walkPayload } from './payload-walk.js';
import { hashesInPool, type BundleHeader, type BundleSource, type OpenedBundle, type ReadLimits } from './source.js';

export interface VerifyOptions {
  allowedSigners: AllowedSigner[];
  /** signatures by these keys never count (KEY_REVOKED) */
  revokedKeys?: RevokedKeys;
  threshold: number;
  now?: Date;
  limits?: ReadLimits;
  onBytes?: (n: number) => void;
  /** Once the signatures and the manifest passed, before the first payload byte (a terminal shows the header then). */
  onPayload?: (bundle: BundleSummary, trust: TrustReport) => void;
}

/** What a bundle is; the manifest's fields are absent when its signatures did not hold (it was never parsed). */
export interface BundleSummary {
  form: OpenedBundle['form'];
  location: string;
  manifestDigest: string;
  manifestBytes: number;
  id?: string;
  name?: string;
  kind?: string;
  channel?: string;
  sequence?: number;
  created?: string;
  expires?: string;
  totals?: ManifestTotals;
}

export interface VerifyReport {
  ok: boolean;
  bundle: BundleSummary;
  trust: TrustReport;
  /** the failures found, parts first, at most MAX_REPORTED_FAILURES; empty when ok */
  failures: Failure[];
  /** how many failures there were in all */
  failureCount: number;
  /** false when the signatures or the manifest failed, so no payload byte was read */
  payloadChecked: boolean;
  bytesVerified: number;
  filesVerified: number;
  durationMs: number;
}

export function headerSummary(h: Pick<BundleHeader, 'form' | 'location' | 'digest' | 'manifestBytes'>): BundleSummary {
  return { form: h.form, location: h.location, manifestDigest: h.digest, manifestBytes: h.manifestBytes.length };
}

export function summarize(bundle: OpenedBundle): BundleSummary {
  const m = bundle.manifest;
  return {
    ...headerSummary(bundle),
    id: m.id,
    name: m.name,
    kind: m.kind,
    channel: m.channel,
    sequence: m.sequence,
    created: m.created,
    ...(m.expires ? { expires: m.expires } : {}),
    totals: manifestTotals(m),
  };
}

/**
 * The signature threshold over the exact manifest bytes (and over a split bundle's signed parts index): the
 * first gate, before anything is parsed.
 */
export function evaluateTrust(
  header: Pick<BundleHeader, 'manifestBytes' | 'signatures' | 'partsIndex'>,
  opts: { allowedSigners: AllowedSigner[]; revokedKeys?: RevokedKeys; threshold: number; now: Date },
): TrustReport {
  const revoked = opts.revokedKeys ? { revoked: opts.revokedKeys } : {};
  const manifest = evaluateSignatures(header.manifestBytes, header.signatures, opts.allowedSigners, {
    threshold: opts.threshold,
    now: opts.now,
    ...revoked,
  });
  return header.partsIndex ? withPartsIndex(manifest, evaluatePartsIndex(header.partsIndex, opts)) : manifest;
}

/**
 * The gates before any payload byte: the signatures (failing them, the manifest is never parsed), then the
 * manifest itself, then its expiry. Returns the parsed bundle, or throws the failures that stopped it.
 */
export function passGates(header: BundleHeader, trust: TrustReport, now: Date): OpenedBundle {
  if (trust.failures.length > 0) throw AirlockError.fromFailures(trust.failures, `${header.location} rejected: ${trust.failures[0]!.message}`);
  const bundle = header.parse();
  const expired = expiryFailure(bundle.manifest, now);
  if (expired) throw AirlockError.fromFailures([expired]);
  return bundle;
}

export async function verifyBundle(input: string | BundleSource, opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const source = typeof input === 'string' ? fileSystemSource(input) : input;
  const header = await source.open(opts.limits);
  try {
    const trust = evaluateTrust(header, { ...opts, now });
    const report: VerifyReport = {
      ok: false,
      bundle: headerSummary(header),
      trust,
      failures: [],
      failureCount: 0,
      payloadChecked: false,
      bytesVerified: 0,
      filesVerified: 0,
      durationMs: 0,
    };
    const failures = new FailureList();
    failures.pushAll(trust.failures);
    const bundle = failures.empty ? parseInto(header, failures) : undefined;
    if (bundle) {
      report.bundle = summarize(bundle);
      const expired = expiryFailure(bundle.manifest, now);
      if (expired) failures.push(expired);
    }
    if (bundle && failures.empty) {
      opts.onPayload?.(report.bundle, trust);
      await walkInto(bundle, failures, report, opts.onBytes);
    }
    report.failures = failures.items.sort((a, b) => rank(a) - rank(b));
    report.failureCount = failures.total;
    report.ok = failures.empty;
    report.durationMs = Date.now() - started;
    return report;
  } finally {
    await header.close();
  }
}

function parseInto(header: BundleHeader, failures: FailureList): OpenedBundle | undefined {
  try {
    return header.parse();
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    failures.absorb(err);
    return undefined;
  }
}

async function walkInto(
  bundle: OpenedBundle,
  failures: FailureList,
  report: VerifyReport,
  onBytes: ((n: number) => void) | undefined,
): Promise<void> {
  const pool = hashesInPool(bundle.form) ? new HashPool() : undefined;
  try {
    const walk = await walkPayload(bundle, { ...(pool ? { pool } : {}), ...(onBytes ? { onBytes } : {}) });
    failures.absorb(walk.failures);
    report.bytesVerified = walk.bytesVerified;
    report.filesVerified = walk.filesVerified;
    report.payloadChecked = true;
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    failures.absorb(err);
  } finally {
    await pool?.close();
  }
}

// A broken part or a cut-short tar explains the payload errors that follow from it, so it is named first.
function rank(f: Failure): number {
  return f.code.startsWith('PART') || f.code === 'TAR_INVALID' ? 0 : 1;
}
