// airlock install: verify a bundle while writing it into the store, then make it current.
import path from 'node:path';
import { installBundle, DEFAULT_RETENTION, type InstallProgress } from '../../ops/install.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import type { Progress } from '../../util/progress.js';
import { BUNDLE_ARGUMENT } from '../bundle-arg.js';
import { paintFor } from '../colour.js';
import { defineCommand, parseIntegerOption, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, QUIET_OPTION, STORE_OPTION } from '../common-options.js';
import { LIMIT_OPTIONS, limitsFromOptions } from '../limit-options.js';
import { PARTS_FROM_OPTION, sourceWithParts } from '../parts-options.js';
import { partsIndexLines, signerLines } from '../report-lines.js';
import { writableStore } from '../store-access.js';
import { progressFor } from '../terminal.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const spec = defineCommand({
  name: 'install',
  summary: 'verify a bundle while writing it into the store, then make it current',
  description: [
    "The bundle is only read, never written (a read-only mount is fine). Signatures (and a split bundle's signed parts index), expiry and rollback protection are checked from the manifest before any payload byte is read; then each byte is read once, hashed and written into the store's private staging. Only when every file matches is the new deployment committed and made current.",
    'The very same bundle again is a no-op (exit 0, "already installed").',
    'With BUNDLE -, the tar is read from standard input as it arrives (nothing is buffered: bytes go straight into staging), so a bundle can be installed from another machine without a copy: ssh host cat x.airlock.tar | airlock install - --store DIR --trust FILE.',
  ],
  positionals: [BUNDLE_ARGUMENT],
  options: [
    STORE_OPTION,
    ...TRUST_OPTIONS,
    PARTS_FROM_OPTION,
    { flag: '--allow-downgrade', description: 'install a lower sequence than the highest installed for its name and channel', group: 'Store' },
    {
      flag: '--retention',
      value: 'N',
      complete: 'none',
      description: `earlier deployments kept per model besides the current one (default ${DEFAULT_RETENTION})`,
      group: 'Store',
    },
    ...LIMIT_OPTIONS,
    JSON_OPTION,
    QUIET_OPTION,
  ],
  jsonSchema: 'install-report',
  exitStatus:
    '0 when installed or already installed, 1 when the bundle is rejected or the install failed (the store is then unchanged), 2 for a usage error.',
  seeAlso: ['verify', 'deployments', 'rollback', 'deploy'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const source = sourceWithParts(positionals.BUNDLE, values['parts-from'], io, 'install');
  const store = path.resolve(io.cwd, values.store);
  const trust = await trustFromOptions(values, io);
  const retention = parseIntegerOption(values.retention, '--retention', 0);
  const progress = progressFor(io, values.quiet);
  const result = await writableStore(store, () =>
    installBundle(source, {
      store,
      ...trust,
      allowDowngrade: values['allow-downgrade'],
      limits: limitsFromOptions(values['max-manifest-size']),
      ...(retention !== undefined ? { retention } : {}),
      onProgress: progressBar(progress),
    }),
  ).finally(() => progress.done());
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
  const paint = paintFor(io.stdout, io.env);
  writeLines(io, lines, 'stdout', (l) => (l.startsWith('installed ') ? paint.good('installed') + l.slice('installed'.length) : l));
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
