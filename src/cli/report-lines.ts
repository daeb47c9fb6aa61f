// Human-readable lines for bundle summaries, signer reports and failures, shared by verify, inspect and install.
// They quote untrusted names verbatim: print them with writeLines (command.ts), which escapes each line.
import type { Failure } from '../errors.js';
import type { SignerReport, TrustReport } from '../trust/policy.js';
import type { BundleSummary } from '../bundle/verify.js';
import { humanBytes } from '../util/human.js';

export function summaryLines(b: BundleSummary): string[] {
  const t = b.totals;
  if (!t)
    return [
      `bundle    ${b.location}  (${b.form} form; manifest not read: its signatures did not hold)`,
      `manifest  sha256 ${b.manifestDigest}  (${humanBytes(b.manifestBytes)})`,
    ];
  const lines = [
    `bundle    ${b.name}  (${b.kind}, ${b.form} form)`,
    `id        ${b.id}`,
    `channel   ${b.channel}  sequence ${b.sequence}`,
    `created   ${b.created}${b.expires ? `  expires ${b.expires}` : ''}`,
    `manifest  sha256 ${b.manifestDigest}`,
    `payload   ${t.files} files, ${t.symlinks} symlinks, ${humanBytes(t.payloadBytes)}${t.omittedFiles ? ` (${t.omittedFiles} files, ${humanBytes(t.omittedBytes)} left out: delta bundle)` : ''}`,
  ];
  if (t.imageBytes) lines.push(`images    ${humanBytes(t.imageBytes)}`);
  return lines;
}

export function signerLines(signers: SignerReport[]): string[] {
  if (signers.length === 0) return ['  (no signatures)'];
  return signers.map((s) => {
    const who = s.principals.length ? s.principals.join(',') : '-';
    const why = s.code ? `  ${s.code}: ${s.message ?? ''}` : '';
    return `  ${s.status.padEnd(9)} ${s.signature}  ${s.keyType ?? '?'} ${s.fingerprint ?? '?'}  ${who}${why}`;
  });
}

export function failureLines(failures: Failure[]): string[] {
  return failures.map((f) => `  ${f.code}: ${f.message}`);
}

/** A split bundle's parts index: its own signatures (namespace airlock-parts), or that it is unsigned. */
export function partsIndexLines(trust: TrustReport): string[] {
  const p = trust.partsIndex;
  if (!p) return [];
  if (!p.signed) return [`parts index ${p.index}: unsigned (parts checked for integrity only; the manifest's signatures vouch for the payload)`];
  return [
    `parts index ${p.index} signatures (namespace airlock-parts, threshold ${trust.threshold}, ${p.trustedKeys} trusted):`,
    ...signerLines(p.signers),
  ];
}
