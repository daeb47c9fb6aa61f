import { AirlockError } from '../../errors.js';
import { verifyBundle } from '../../bundle/verify.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { onePositional, parseCommandArgs, writeJson, writeLines, type CliIO } from '../command.js';
import { failureLines, signerLines, summaryLines } from '../report-lines.js';
import { trustFromOptions } from '../trust-options.js';

export const summary = 'check a bundle: signatures first, then every payload byte';
export const usage = `usage: airlock verify BUNDLE --trust ALLOWED_SIGNERS [--threshold K] [--json]
  BUNDLE is a bundle directory, a *.airlock.tar, a *.airlock.parts.json index or its first part.
  Signatures (and expiry) are checked before any payload byte is read; then every byte is hashed
  and every mismatch, missing, unlisted or wrongly typed entry is reported. Exit 0 valid, 1 rejected.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { trust: { type: 'string' }, threshold: { type: 'string' }, json: { type: 'boolean' } }, usage);
  const location = onePositional(positionals, 'BUNDLE', usage);
  const trust = await trustFromOptions(values.trust, values.threshold, usage);
  const report = await verifyBundle(location, trust);
  if (values.json) writeJson(io, report);
  else {
    const lines = [...summaryLines(report.bundle), `signatures (threshold ${report.trust.threshold}, ${report.trust.trustedKeys} trusted):`, ...signerLines(report.trust.signers)];
    if (report.payloadChecked) lines.push(`verified  ${report.filesVerified} files, ${humanBytes(report.bytesVerified)} in ${humanDuration(report.durationMs)}`);
    else lines.push('payload   not read: the manifest was rejected');
    if (report.ok) lines.push('OK');
    else lines.push(`REJECTED: ${report.failures.length} problem(s)`, ...failureLines(report.failures));
    writeLines(io, lines);
  }
  if (!report.ok) throw AirlockError.fromFailures(report.failures, `bundle ${report.bundle.id} rejected: ${report.failures[0]?.message ?? ''}`);
  return 0;
}
