import { AirlockError, toAirlockError } from '../../errors.js';
import { verifyBundle } from '../../bundle/verify.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { onePositional, parseCommandArgs, writeJson, writeLines, type CliIO } from '../command.js';
import { failureLines, partsIndexLines, signerLines, summaryLines } from '../report-lines.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';
import { PARTS_OPTIONS, PARTS_USAGE, sourceWithParts } from '../parts-options.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const summary = 'check a bundle: signatures first, then every payload byte';
export const usage = `usage: airlock verify BUNDLE --trust ALLOWED_SIGNERS [--revoked FILE] [--threshold K] [--parts-from DIR]...
         [--max-manifest-size SIZE] [--json]
  BUNDLE is a bundle directory, a *.airlock.tar, a *.airlock.parts.json index or its first part.
  The signatures over the exact bytes of airlock.json (and over a split bundle's signed parts index,
  namespace airlock-parts) are checked before it is even parsed; then the manifest and its expiry; then
  every byte is hashed and every mismatch, missing, unlisted or wrongly typed entry is reported.
  Exit 0 valid, 1 rejected.
  --revoked FILE  public keys (one per line, as ssh-keygen -Y verify -r reads) whose signatures never count
${PARTS_USAGE}
${LIMIT_USAGE}`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...TRUST_OPTIONS, json: { type: 'boolean' }, ...PARTS_OPTIONS, ...LIMIT_OPTIONS }, usage);
  const location = onePositional(positionals, 'BUNDLE', usage);
  const trust = await trustFromOptions(values, usage, io);
  let report;
  try {
    report = await verifyBundle(sourceWithParts(location, values['parts-from'], io.cwd), {
      ...trust,
      limits: limitsFromOptions(values['max-manifest-size']),
    });
  } catch (err) {
    // A bundle that cannot even be opened (no manifest, a FIFO, a broken part index) is still a report, as for install.
    if (values.json) writeJson(io, { ok: false, error: toAirlockError(err).toJSON() });
    throw err;
  }
  if (values.json) writeJson(io, report);
  else {
    const lines = [
      ...summaryLines(report.bundle),
      `signatures (threshold ${report.trust.threshold}, ${report.trust.trustedKeys} trusted):`,
      ...signerLines(report.trust.signers),
      ...partsIndexLines(report.trust),
    ];
    if (report.payloadChecked)
      lines.push(`verified  ${report.filesVerified} files, ${humanBytes(report.bytesVerified)} in ${humanDuration(report.durationMs)}`);
    else lines.push('payload   not read: the manifest was rejected');
    if (report.ok) lines.push('OK');
    else
      lines.push(
        `REJECTED: ${report.failureCount} problem(s)${report.failureCount > report.failures.length ? ` (the first ${report.failures.length} listed)` : ''}`,
        ...failureLines(report.failures),
      );
    writeLines(io, lines);
  }
  if (!report.ok)
    throw AirlockError.fromFailures(
      report.failures,
      `bundle ${report.bundle.id ?? report.bundle.location} rejected: ${report.failures[0]?.message ?? ''}`,
      report.failureCount,
    );
  return 0;
}
