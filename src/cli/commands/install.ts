// airlock install: verify a bundle while writing it into the store, then make it current.
import path from 'node:path';
import { registryRef, registrySource } from '../../bundle/registry-source.js';
import type { BundleSource } from '../../bundle/source.js';
import { AirlockError } from '../../errors.js';
import { OCI_MANIFEST } from '../../registry/media-types.js';
import { describeTarget, parseRepositoryTarget } from '../../registry/reference.js';
import { clientFor, REGISTRY_OPTIONS, registryAccess, type RegistryValues } from '../registry-options.js';
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
    "With --registry instead of BUNDLE, the bundle airlock publish pushed to an OCI registry is installed: the tag is resolved to a digest once, the artifact's airlock.json and signatures are fetched and judged first, then only the payload blobs the store lacks (docs/registry.md). Its images stay in the registry; deploy pulls them by digest.",
    'With BUNDLE -, the tar is read from standard input as it arrives (nothing is buffered: bytes go straight into staging), so a bundle can be installed from another machine without a copy: ssh host cat x.airlock.tar | airlock install - --store DIR --trust FILE.',
  ],
  synopsis: [
    'BUNDLE --store DIR --trust ALLOWED_SIGNERS [options]',
    '--registry [http://|https://]HOST[:PORT]/REPOSITORY:TAG|@DIGEST --store DIR --trust ALLOWED_SIGNERS [options]',
  ],
  positionals: [{ ...BUNDLE_ARGUMENT, optional: true }],
  options: [
    STORE_OPTION,
    {
      flag: '--registry',
      value: 'REFERENCE',
      complete: 'none',
      description:
        'install from an OCI registry instead of BUNDLE: [http://|https://]HOST[:PORT]/REPOSITORY:TAG or @DIGEST (without a scheme, https)',
    },
    ...REGISTRY_OPTIONS,
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
  const source = await sourceOf(positionals.BUNDLE, values, io);
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

/** BUNDLE, or --registry: the tag resolved to its digest once (the digest is what is installed), as a registry source. */
async function sourceOf(
  bundle: string | undefined,
  values: RegistryValues & { registry?: string | undefined; 'parts-from'?: string[] | undefined },
  io: CliIO,
): Promise<BundleSource> {
  if (values.registry === undefined) {
    if (bundle === undefined) throw new AirlockError('USAGE', 'expected BUNDLE (or --registry REFERENCE)');
    return sourceWithParts(bundle, values['parts-from'], io, 'install');
  }
  if (bundle !== undefined) throw new AirlockError('USAGE', 'give BUNDLE or --registry, not both', { path: '--registry' });
  if (values['parts-from']?.length)
    throw new AirlockError('USAGE', '--parts-from is for a split bundle on disk, not --registry', { path: '--parts-from' });
  const target = parseRepositoryTarget(values.registry, '--registry');
  const access = registryAccess(values, io);
  let digest = target.digest;
  if (digest === undefined) {
    if (target.tag === undefined) throw new AirlockError('USAGE', '--registry needs :TAG or @DIGEST', { path: '--registry' });
    const client = await clientFor(target.registry, access);
    try {
      digest = await client.resolve(target.repository, target.tag, [OCI_MANIFEST]);
    } finally {
      client.close();
    }
    if (digest === undefined)
      throw new AirlockError('REGISTRY_NOT_FOUND', `${describeTarget(target.registry, target.repository, target.tag)} does not exist`, {
        path: target.tag,
      });
  }
  return registrySource(
    registryRef({ url: target.registry.origin, repository: target.repository, digest, ...(target.tag ? { tag: target.tag } : {}), ...access }),
  );
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
