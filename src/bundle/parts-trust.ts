// A split bundle's parts index judged like its manifest: the same trust file and threshold, over the index's
// exact bytes, under the namespace airlock-parts (so neither kind of signature can stand in for the other).
// An index without any signature (packed before indexes were signed) is read for integrity only. Pure.
import type { Failure } from '../errors.js';
import { PARTS_NAMESPACE } from '../format/layout.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import { evaluateSignatures, type PartsIndexTrust, type TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import type { SignedPartsIndex } from './source.js';

export interface PartsTrustOptions {
  allowedSigners: AllowedSigner[];
  revokedKeys?: RevokedKeys;
  threshold: number;
  now: Date;
}

export interface PartsIndexVerdict {
  trust: PartsIndexTrust;
  /** why a signed index does not hold (each naming the index); empty when it holds or is unsigned */
  failures: Failure[];
}

export function evaluatePartsIndex(p: Pick<SignedPartsIndex, 'name' | 'bytes' | 'signatures'>, opts: PartsTrustOptions): PartsIndexVerdict {
  if (p.signatures.length === 0) return { trust: { index: p.name, signed: false, trustedKeys: 0, satisfied: false, signers: [] }, failures: [] };
  const r = evaluateSignatures(p.bytes, p.signatures, opts.allowedSigners, {
    threshold: opts.threshold,
    now: opts.now,
    namespace: PARTS_NAMESPACE,
    ...(opts.revokedKeys ? { revoked: opts.revokedKeys } : {}),
  });
  return {
    trust: { index: p.name, signed: true, trustedKeys: r.trustedKeys, satisfied: r.satisfied, signers: r.signers },
    failures: r.failures.map((f) => ({ ...f, path: f.path ?? p.name, message: `parts index ${p.name}: ${f.message}` })),
  };
}

/** The manifest's report with the index's beside it: a signed index that does not hold fails the bundle. */
export function withPartsIndex(manifest: TrustReport, parts: PartsIndexVerdict): TrustReport {
  return {
    ...manifest,
    satisfied: manifest.satisfied && parts.failures.length === 0,
    failures: [...manifest.failures, ...parts.failures],
    partsIndex: parts.trust,
  };
}
