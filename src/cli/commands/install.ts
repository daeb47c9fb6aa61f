import path from 'node:path';
import { toAirlockError } from '../../errors.js';
import { installBundle, DEFAULT_RETENTION, type InstallProgress } from '../../ops/install.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { createProgress, type Progress } from '../../util/progress.js';
import { onePositional, parseCommandArgs, parseIntegerOption, requireOption, writeJson, writeLines, type CliIO } from '../command.js';
import { partsIndexLines, signerLines } from '../report-lines.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';
import { PARTS_OPTIONS, PARTS_USAGE, sourceWithParts } from '../parts-options.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const summary = 'verify a bundle while writing it into the store, then make it current';
export const usage = `usage: airlock install BUNDLE --store DIR --trust ALLOWED_SIGNERS [--revoked FILE] [--threshold K]
         [--parts-from DIR]... [--allow-downgrade] [--retention N] [--max-manifest-size SIZE] [--json]
  BUNDLE is a bundle directory, a *.airlock.tar, a *.airlock.parts.json index or its first part;
  it is only read, never written (a read-only mount is fine).
  Signatures (and a split bundle's signed parts index), expiry and rollback protection are checked
  from the manifest before any payload byte is read; then each byte is read once, hashed and written
  into the store's private staging.
  Only when every file matches is the new deployment committed and made current.
  --revoked FILE     public keys (one per line, as ssh-keygen -Y verify -r reads) whose signatures never count
  --allow-downgrade  install a lower sequence than the highest installed for its name and channel
  --retention N      earlier deployments kept per model besides the current one (default ${DEFAULT_RETENTION})
  --json             print a report, including the deployment's absolute path
${PARTS_USAGE}
${LIMIT_USAGE}
  The very same bundle again is a no-op (exit 0, "already installed").`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      store: { type: 'string' },
      ...TRUST_OPTIONS,
      'allow-downgrade': { type: 'boolean' },
      retention: { type: 'string' },
      json: { type: 'boolean' },
      ...PARTS_OPTIONS,
      ...LIMIT_OPTIONS,
    },
    usage,
  );
  const location = path.resolve(io.cwd, onePositional(positionals, 'BUNDLE', usage));
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  const trust = await trustFromOptions(values, usage, io);
  const retention = parseIntegerOption(values.retention, '--retention', 0);
  const progress = createProgress(io.stderr);
  let result;
  try {
    result = await installBundle(sourceWithParts(location, values['parts-from'], io.cwd), {
      store,
      ...trust,
      allowDowngrade: values['allow-downgrade'] ?? false,
      limits: limitsFromOptions(values['max-manifest-size']),
      ...(retention !== undefined ? { retention } : {}),
      onProgress: progressBar(progress),
    });
  } catch (err) {
    progress.done();
    if (values.json) writeJson(io, { ok: false, error: toAirlockError(err).toJSON() });
    throw err;
  }
  progress.done();
  if (values.json) {
    writeJson(io, { ok: true, store, ...result });
    return 0;
  }
  const d = result.deployment;
  const lines =
    result.status === 'already-installed'
      ? [
          `already installed: ${d.name} ${d.bundleId} (channel ${d.channel}, sequence ${d.sequence})${d.current ? ', current' : ', kept (not current)'}`,
          `path      ${d.path}`,
        ]
      : [
          `installed ${d.name} ${d.bundleId} (channel ${d.channel}, sequence ${d.sequence}), now current`,
          `path      ${d.path}`,
          `verified  ${humanBytes(result.bytesVerified)} in ${humanDuration(result.durationMs)}; ${humanBytes(result.bytesWritten)} new content`,
          ...(result.evicted.length ? [`evicted   ${result.evicted.join(', ')} (retention)`] : []),
        ];
  lines.push(
    `signatures (threshold ${result.trust.threshold}, ${result.trust.trustedKeys} trusted):`,
    ...signerLines(result.trust.signers),
    ...partsIndexLines(result.trust),
  );
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  writeLines(io, lines);
  return 0;
}

function progressBar(progress: Progress): (p: InstallProgress) => void {
  let phase = '';
  let shown = 0;
  return (p) => {
    if (p.phase !== phase) {
      phase = p.phase;
      shown = 0;
      progress.phase(p.phase === 'payload' ? 'installing' : p.phase, p.bytesTotal);
    }
    progress.add(p.bytesDone - shown);
    shown = p.bytesDone;
  };
}
