import path from 'node:path';
import { registryRef, registrySource } from '../../bundle/registry-source.js';
import type { BundleSource } from '../../bundle/source.js';
import { AirlockError, toAirlockError } from '../../errors.js';
import { OCI_MANIFEST } from '../../registry/media-types.js';
import { describeTarget, parseRepositoryTarget } from '../../registry/reference.js';
import { clientFor, REGISTRY_OPTIONS, REGISTRY_USAGE, registryAccess, type RegistryValues } from '../registry-options.js';
import { installBundle, DEFAULT_RETENTION, type InstallProgress } from '../../ops/install.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { createProgress, type Progress } from '../../util/progress.js';
import { onePositional, parseCommandArgs, parseIntegerOption, requireOption, writeJson, writeLines, type CliIO } from '../command.js';
import { signerLines } from '../report-lines.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const summary = 'verify a bundle while writing it into the store, then make it current';
export const usage = `usage: airlock install BUNDLE --store DIR --trust ALLOWED_SIGNERS [--revoked FILE] [--threshold K]
         [--allow-downgrade] [--retention N] [--max-manifest-size SIZE] [--json]
       airlock install --registry [http://|https://]HOST[:PORT]/REPOSITORY:TAG|@DIGEST --store DIR --trust … [registry options]
  BUNDLE is a bundle directory, a *.airlock.tar, a *.airlock.parts.json index or its first part;
  it is only read, never written (a read-only mount is fine).
  --registry  install a bundle airlock publish pushed to an OCI registry: the artifact's airlock.json and
              signatures are fetched and judged first, then only the payload blobs the store lacks. Its
              images stay in the registry; deploy pulls them by digest.
${REGISTRY_USAGE}
  Signatures, expiry and rollback protection are checked from the manifest before any payload
  byte is read; then each byte is read once, hashed and written into the store's private staging.
  Only when every file matches is the new deployment committed and made current.
  --revoked FILE     public keys (one per line, as ssh-keygen -Y verify -r reads) whose signatures never count
  --allow-downgrade  install a lower sequence than the highest installed for its name and channel
  --retention N      earlier deployments kept per model besides the current one (default ${DEFAULT_RETENTION})
  --json             print a report, including the deployment's absolute path
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
      registry: { type: 'string' },
      ...REGISTRY_OPTIONS,
      ...LIMIT_OPTIONS,
    },
    usage,
  );
  const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
  const trust = await trustFromOptions(values, usage, io);
  const location =
    values.registry === undefined ? path.resolve(io.cwd, onePositional(positionals, 'BUNDLE', usage)) : await fromRegistry(values, positionals, io);
  const retention = parseIntegerOption(values.retention, '--retention', 0);
  const progress = createProgress(io.stderr);
  let result;
  try {
    result = await installBundle(location, {
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
  lines.push(`signatures (threshold ${result.trust.threshold}, ${result.trust.trustedKeys} trusted):`, ...signerLines(result.trust.signers));
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  writeLines(io, lines);
  return 0;
}

/** --registry: the tag resolved to its digest once (the digest is what is installed), as a registry source. */
async function fromRegistry(values: RegistryValues & { registry?: string }, positionals: string[], io: CliIO): Promise<BundleSource> {
  if (positionals.length > 0) throw new AirlockError('USAGE', `give BUNDLE or --registry, not both\n${usage}`);
  const target = parseRepositoryTarget(values.registry!, '--registry');
  const access = registryAccess(values, io);
  let digest = target.digest;
  if (digest === undefined) {
    if (target.tag === undefined) throw new AirlockError('USAGE', `--registry needs :TAG or @DIGEST\n${usage}`, { path: '--registry' });
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
