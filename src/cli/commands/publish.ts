// airlock publish: a verified bundle (or a deployment a host installed) into an OCI registry (docs/registry.md).
import path from 'node:path';
import { storeSource } from '../../bundle/store-source.js';
import { AirlockError, toAirlockError } from '../../errors.js';
import { publishBundle, type PublishProgress, type PublishResult } from '../../ops/publish.js';
import { isRepository, parseRepositoryTarget } from '../../registry/reference.js';
import { defaultSessionDir, fileUploadSessions } from '../../registry/upload-sessions.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import { createProgress, type Progress } from '../../util/progress.js';
import { parseCommandArgs, parseIntegerOption, requireOption, writeJson, writeLines, type CliIO } from '../command.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';
import { clientFor, REGISTRY_OPTIONS, REGISTRY_USAGE, registryAccess } from '../registry-options.js';
import { signerLines } from '../report-lines.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const summary = 'push a verified bundle into an OCI registry, for daemons that subscribe to it';
export const usage = `usage: airlock publish BUNDLE --to [http://|https://]HOST[:PORT]/REPOSITORY --trust ALLOWED_SIGNERS [options]
       airlock publish --deployment NAME[@BUNDLE_ID] --store DIR --to … --trust ALLOWED_SIGNERS [options]
  BUNDLE is a bundle directory or a *.airlock.tar (split parts: join them with cat, or install and use
  --deployment). The bundle is verified first, as install verifies it (signatures, expiry, every payload
  byte); only then are blobs the registry lacks uploaded (HEAD first), each container image pushed as an
  ordinary image, the artifact manifest (config = airlock.json) and its signatures attached, and last the tag.
  Without a scheme, --to is reached over https.
  --tag TAG                the tag (default CHANNEL-SEQUENCE, the tag daemons look for)
  --deployment NAME[@ID]   publish the current (or the named kept) deployment of model NAME in --store
  --store DIR              the store --deployment reads
  --image-repository REPO  where images go (default: the path of their reference, e.g. nim/meta/llama-3.1-8b-instruct)
  --revoked FILE           public keys whose signatures never count
  --threshold K            distinct trusted keys needed (default 1)
${REGISTRY_USAGE}
  --resume-dir DIR         where upload sessions are kept so an interrupted publish goes on (default
                           $XDG_CACHE_HOME/airlock/uploads)
  --concurrency N          blobs uploaded at once (default 6)
${LIMIT_USAGE}
  --json                   print a report (digest, reference, blobs uploaded and skipped, images)
  Publishing the same bundle again uploads nothing the registry already holds.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      to: { type: 'string' },
      tag: { type: 'string' },
      deployment: { type: 'string' },
      store: { type: 'string' },
      'image-repository': { type: 'string' },
      'resume-dir': { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      ...TRUST_OPTIONS,
      ...REGISTRY_OPTIONS,
      ...LIMIT_OPTIONS,
    },
    usage,
  );
  const target = parseRepositoryTarget(requireOption(values.to, '--to', usage));
  if (target.digest !== undefined) throw new AirlockError('USAGE', `--to names a repository (and a tag), not a digest\n${usage}`, { path: '--to' });
  if (target.tag !== undefined && values.tag !== undefined)
    throw new AirlockError('USAGE', `give the tag once: in --to or with --tag\n${usage}`, { path: '--tag' });
  const source = sourceOf(positionals, values, io);
  const imageRepository = values['image-repository'];
  if (imageRepository !== undefined && !isRepository(imageRepository))
    throw new AirlockError('USAGE', `--image-repository ${JSON.stringify(imageRepository)} is not a valid repository name`, {
      path: '--image-repository',
    });
  const trust = await trustFromOptions(values, usage, io);
  const client = await clientFor(target.registry, registryAccess(values, io));
  const progress = createProgress(io.stderr);
  const tag = values.tag ?? target.tag;
  const concurrency = parseIntegerOption(values.concurrency, '--concurrency', 1);
  let result: PublishResult;
  try {
    result = await publishBundle(source, {
      client,
      repository: target.repository,
      ...(tag !== undefined ? { tag } : {}),
      ...(imageRepository !== undefined ? { imageRepository } : {}),
      ...trust,
      limits: limitsFromOptions(values['max-manifest-size']),
      sessions: fileUploadSessions(values['resume-dir'] !== undefined ? path.resolve(io.cwd, values['resume-dir']) : defaultSessionDir(io.env)),
      ...(concurrency !== undefined ? { concurrency } : {}),
      onProgress: progressBar(progress),
    });
  } catch (err) {
    progress.done();
    if (values.json) writeJson(io, { ok: false, error: toAirlockError(err).toJSON() });
    throw err;
  } finally {
    client.close();
  }
  progress.done();
  if (values.json) {
    writeJson(io, { ok: true, ...result });
    return 0;
  }
  const b = result.bundle;
  const tally = (t: PublishResult['payload']) =>
    `${t.uploaded} uploaded (${humanBytes(t.bytesUploaded)}), ${t.present} already there (${humanBytes(t.bytesPresent)})`;
  writeLines(io, [
    `published ${b.name} ${b.id} (channel ${b.channel}, sequence ${b.sequence})`,
    `reference ${result.reference}`,
    `payload   ${tally(result.payload)}`,
    ...result.images.map((i) => `image     ${i.ref} → ${i.pull}`),
    ...(result.images.length ? [`layers    ${tally(result.imageBlobs)}`] : []),
    `signatures ${result.signatures.count} attached (${result.signatures.via === 'api' ? 'referrers API' : 'referrers tag'})`,
    `took      ${humanDuration(result.durationMs)}`,
    `signatures checked (threshold ${result.trust.threshold}, ${result.trust.trustedKeys} trusted):`,
    ...signerLines(result.trust.signers),
  ]);
  return 0;
}

function sourceOf(positionals: string[], values: { deployment?: string; store?: string }, io: CliIO) {
  if (values.deployment !== undefined) {
    if (positionals.length > 0) throw new AirlockError('USAGE', `give BUNDLE or --deployment, not both\n${usage}`);
    const store = path.resolve(io.cwd, requireOption(values.store, '--store', usage));
    const at = values.deployment.lastIndexOf('@');
    return at > 0 ? storeSource(store, values.deployment.slice(0, at), values.deployment.slice(at + 1)) : storeSource(store, values.deployment);
  }
  if (values.store !== undefined) throw new AirlockError('USAGE', `--store goes with --deployment\n${usage}`, { path: '--store' });
  if (positionals.length !== 1 || positionals[0] === undefined)
    throw new AirlockError('USAGE', `expected exactly one BUNDLE (or --deployment)\n${usage}`);
  return path.resolve(io.cwd, positionals[0]);
}

function progressBar(progress: Progress): (p: PublishProgress) => void {
  let phase = '';
  let shown = 0;
  return (p) => {
    if (p.phase !== phase) {
      phase = p.phase;
      shown = 0;
      progress.phase(p.phase, p.bytesTotal);
    }
    progress.add(p.bytesDone - shown);
    shown = p.bytesDone;
  };
}
