// airlock verify: signatures first, then every payload byte; what a reviewer runs before anything is trusted.
import { AirlockError } from '../../errors.js';
import { verifyBundle, type BundleSummary, type VerifyReport } from '../../bundle/verify.js';
import type { TrustReport } from '../../trust/policy.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { BUNDLE_ARGUMENT } from '../bundle-arg.js';
import { paintFor } from '../colour.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { LIMIT_OPTIONS, limitsFromOptions } from '../limit-options.js';
import { PARTS_FROM_OPTION, sourceWithParts } from '../parts-options.js';
import { failureLines, partsIndexLines, signerLines, summaryLines } from '../report-lines.js';
import { progressFor } from '../terminal.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const spec = defineCommand({
  name: 'verify',
  summary: 'check a bundle: signatures first, then every payload byte',
  description: [
    "The signatures over the exact bytes of airlock.json (and over a split bundle's signed parts index, namespace airlock-parts) are checked before it is even parsed; then the manifest and its expiry; then every byte is hashed and every mismatch, missing, unlisted or wrongly typed entry is reported.",
    'On a terminal the bundle and its signatures are shown first, then a progress line while the payload is hashed (none with --quiet or when stderr is not a terminal).',
    'With BUNDLE -, the tar is read from standard input as it arrives, once, and never held in memory or on disk: ssh host cat x.airlock.tar | airlock verify - --trust FILE. Signatures beside the tar (x.airlock.signatures/) are not seen that way.',
  ],
  positionals: [BUNDLE_ARGUMENT],
  options: [...TRUST_OPTIONS, PARTS_FROM_OPTION, ...LIMIT_OPTIONS, JSON_OPTION, QUIET_OPTION],
  jsonSchema: 'verify-report',
  exitStatus: '0 when the bundle is valid, 1 when it is rejected (the report lists every problem), 2 for a usage or trust-file error.',
  examples: [
    { description: 'Check a tar bundle against the trusted keys.', command: 'airlock verify llama.airlock.tar --trust allowed_signers' },
    {
      description: 'Check a bundle on another machine without copying it first.',
      command: 'ssh builder cat /srv/out/llama.airlock.tar | airlock verify - --trust allowed_signers',
    },
  ],
  seeAlso: ['inspect', 'install'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const source = sourceWithParts(positionals.BUNDLE, values['parts-from'], io, 'verify', false);
  const trust = await trustFromOptions(values, io);
  const progress = progressFor(io, values.quiet);
  let headerShown = false;
  const report = await verifyBundle(source, {
    ...trust,
    limits: limitsFromOptions(values['max-manifest-size']),
    onPayload: (bundle, trustReport) => {
      if (!values.json) {
        writeLines(io, headerLines(bundle, trustReport));
        headerShown = true;
      }
      progress.phase('verifying', bundle.totals?.carriedBytes ?? 0);
    },
    onBytes: (n) => progress.add(n),
  }).finally(() => progress.done());
  if (values.json) writeJson(io, report);
  else writeLines(io, [...(headerShown ? [] : headerLines(report.bundle, report.trust)), ...resultLines(report)], 'stdout', verdictColour(io));
  if (!report.ok)
    throw AirlockError.fromFailures(
      report.failures,
      `bundle ${report.bundle.id ?? report.bundle.location} rejected: ${report.failures[0]?.message ?? ''}`,
      report.failureCount,
    );
  return 0;
}

function headerLines(bundle: BundleSummary, trust: TrustReport): string[] {
  return [
    ...summaryLines(bundle),
    `signatures (threshold ${trust.threshold}, ${trust.trustedKeys} trusted):`,
    ...signerLines(trust.signers),
    ...partsIndexLines(trust),
  ];
}

function resultLines(report: VerifyReport): string[] {
  const lines: string[] = [];
  if (report.payloadChecked)
    lines.push(`verified  ${report.filesVerified} files, ${humanBytes(report.bytesVerified)} in ${humanDuration(report.durationMs)}`);
  else lines.push('payload   not read: the manifest was rejected');
  if (report.ok) lines.push('OK');
  else
    lines.push(
      `REJECTED: ${report.failureCount} problem(s)${report.failureCount > report.failures.length ? ` (the first ${report.failures.length} listed)` : ''}`,
      ...failureLines(report.failures),
    );
  return lines;
}

/** OK in green, REJECTED in red, on a terminal that wants colour. */
export function verdictColour(io: CliIO): (line: string) => string {
  const paint = paintFor(io.stdout, io.env);
  return (line) => (line === 'OK' ? paint.good(line) : line.startsWith('REJECTED:') ? paint.bad('REJECTED') + line.slice('REJECTED'.length) : line);
}
