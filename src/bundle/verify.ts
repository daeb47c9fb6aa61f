// `verify`: signatures first (no payload byte is read unless they hold), then every payload byte once.
import { AirlockError, type Failure } from '../errors.js';
import { expiryFailure, manifestTotals, type ManifestTotals } from '../format/manifest.js';
import { HashPool } from '../hash/hash-pool.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import { evaluateSignatures, type TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { openBundle, type OpenedBundle } from './open-bundle.js';
import { walkPayload } from './payload-walk.js';

export interface VerifyOptions {
  allowedSigners: AllowedSigner[];
  /** signatures by these keys never count (KEY_REVOKED) */
  revokedKeys?: RevokedKeys;
  threshold: number;
  now?: Date;
  onBytes?: (n: number) => void;
}

export interface BundleSummary {
  id: string;
  name: string;
  kind: string;
  channel: string;
  sequence: number;
  created: string;
  expires?: string;
  form: OpenedBundle['form'];
  location: string;
  manifestDigest: string;
  totals: ManifestTotals;
}

export interface VerifyReport {
  ok: boolean;
  bundle: BundleSummary;
  trust: TrustReport;
  /** every failure found, parts first; empty when ok */
  failures: Failure[];
  /** false when signatures failed, so no payload byte was read */
  payloadChecked: boolean;
  bytesVerified: number;
  filesVerified: number;
  durationMs: number;
}

export function summarize(bundle: OpenedBundle): BundleSummary {
  const m = bundle.manifest;
  return {
    id: m.id,
    name: m.name,
    kind: m.kind,
    channel: m.channel,
    sequence: m.sequence,
    created: m.created,
    ...(m.expires ? { expires: m.expires } : {}),
    form: bundle.form,
    location: bundle.location,
    manifestDigest: bundle.digest,
    totals: manifestTotals(m),
  };
}

/** Manifest-level checks that gate any payload read: expiry and the signature threshold. */
export function headerFailures(bundle: OpenedBundle, trust: TrustReport, now: Date): Failure[] {
  const failures: Failure[] = [];
  const expired = expiryFailure(bundle.manifest, now);
  if (expired) failures.push(expired);
  failures.push(...trust.failures);
  return failures;
}

export function evaluateTrust(bundle: OpenedBundle, opts: { allowedSigners: AllowedSigner[]; revokedKeys?: RevokedKeys; threshold: number; now: Date }): TrustReport {
  const revoked = opts.revokedKeys ? { revoked: opts.revokedKeys } : {};
  return evaluateSignatures(bundle.manifestBytes, bundle.signatures, opts.allowedSigners, { threshold: opts.threshold, now: opts.now, ...revoked });
}

export async function verifyBundle(location: string, opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const bundle = await openBundle(location);
  const trust = evaluateTrust(bundle, { ...opts, now });
  const report: VerifyReport = {
    ok: false,
    bundle: summarize(bundle),
    trust,
    failures: headerFailures(bundle, trust, now),
    payloadChecked: false,
    bytesVerified: 0,
    filesVerified: 0,
    durationMs: 0,
  };
  if (report.failures.length === 0) {
    const pool = bundle.form === 'split' ? undefined : new HashPool();
    try {
      const walk = await walkPayload(bundle, { ...(pool ? { pool } : {}), ...(opts.onBytes ? { onBytes: opts.onBytes } : {}) });
      report.failures.push(...walk.failures);
      report.bytesVerified = walk.bytesVerified;
      report.filesVerified = walk.filesVerified;
      report.payloadChecked = true;
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      report.failures.push(...err.failures);
    } finally {
      await pool?.close();
    }
  }
  report.failures.sort((a, b) => rank(a) - rank(b));
  report.ok = report.failures.length === 0;
  report.durationMs = Date.now() - started;
  return report;
}

// A broken part or a cut-short tar explains the payload errors that follow from it, so it is named first.
function rank(f: Failure): number {
  return f.code.startsWith('PART') || f.code === 'TAR_INVALID' ? 0 : 1;
}
