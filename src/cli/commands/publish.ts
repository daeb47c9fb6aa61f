// airlock publish: a verified bundle (or a deployment a host installed) into an OCI registry (docs/registry.md).
import path from 'node:path';
import { storeSource } from '../../bundle/store-source.js';
import { AirlockError } from '../../errors.js';
import { publishBundle, type PublishProgress, type PublishResult } from '../../ops/publish.js';
import { isRepository, parseRepositoryTarget } from '../../registry/reference.js';
import { defaultSessionDir, fileUploadSessions } from '../../registry/upload-sessions.js';
import { humanBytes, humanDuration } from '../../util/human.js';
import type { Progress } from '../../util/progress.js';
import { BUNDLE_ARGUMENT } from '../bundle-arg.js';
import { defineCommand, parseIntegerOption, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { LIMIT_OPTIONS, limitsFromOptions } from '../limit-options.js';
import { clientFor, REGISTRY_OPTIONS, registryAccess } from '../registry-options.js';
import { progressFor } from '../terminal.js';
import { signerLines } from '../report-lines.js';
import { TRUST_OPTIONS, trustFromOptions } from '../trust-options.js';

export const spec = defineCommand({
  name: 'publish',
  summary: 'push a verified bundle into an OCI registry, for daemons that subscribe to it',
  synopsis: [
    'BUNDLE --to [http://|https://]HOST[:PORT]/REPOSITORY[:TAG] --trust ALLOWED_SIGNERS [options]',
    '--deployment NAME[@BUNDLE_ID] --store DIR --to [http://|https://]HOST[:PORT]/REPOSITORY[:TAG] --trust ALLOWED_SIGNERS [options]',
  ],
  description: [
    'The bundle is verified first, as install verifies it (signatures, expiry, every payload byte); only then are the blobs the registry lacks uploaded (HEAD first), each container image pushed as an ordinary image, the artifact manifest (config = airlock.json) and its signatures attached, and last the tag. Without a scheme, --to is reached over https.',
    'BUNDLE is a bundle directory or a *.airlock.tar (split parts: join them with cat, or install them and use --deployment). Publishing the same bundle again uploads nothing the registry already holds. docs/registry.md says how a bundle maps onto OCI.',
  ],
  positionals: [{ ...BUNDLE_ARGUMENT, optional: true }],
  options: [
    {
      flag: '--to',
      value: 'REFERENCE',
      required: true,
      complete: 'none',
      description: 'the repository, and optionally the tag: [http://|https://]HOST[:PORT]/REPOSITORY[:TAG]',
    },
    { flag: '--tag', value: 'TAG', complete: 'none', description: 'the tag (default CHANNEL-SEQUENCE, the tag daemons look for)' },
    {
      flag: '--deployment',
      value: 'NAME[@ID]',
      complete: 'none',
      description: 'publish the current (or the named kept) deployment of model NAME in --store instead of BUNDLE',
      group: 'Store',
    },
    { flag: '--store', value: 'DIR', complete: 'dir', description: 'the store --deployment reads', group: 'Store' },
    {
      flag: '--image-repository',
      value: 'REPO',
      complete: 'none',
      description: 'where images go (default: the path of their reference, e.g. nim/meta/llama-3.1-8b-instruct)',
    },
    ...TRUST_OPTIONS,
    ...REGISTRY_OPTIONS,
    {
      flag: '--resume-dir',
      value: 'DIR',
      complete: 'dir',
      description: 'where upload sessions are kept so an interrupted publish goes on (default $XDG_CACHE_HOME/airlock/uploads)',
    },
    { flag: '--concurrency', value: 'N', complete: 'none', description: 'blobs uploaded at once (default 6)' },
    ...LIMIT_OPTIONS,
    JSON_OPTION,
    QUIET_OPTION,
  ],
  jsonSchema: 'publish-report',
  exitStatus: '0 when the bundle is in the registry under its tag, 1 when it was refused or the registry failed, 2 for a usage error.',
  seeAlso: ['install', 'verify', 'daemon'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const target = parseRepositoryTarget(values.to);
  if (target.digest !== undefined) throw new AirlockError('USAGE', '--to names a repository (and a tag), not a digest', { path: '--to' });
  if (target.tag !== undefined && values.tag !== undefined)
    throw new AirlockError('USAGE', 'give the tag once: in --to or with --tag', { path: '--tag' });
  const source = sourceOf(positionals.BUNDLE, values, io);
  const imageRepository = values['image-repository'];
  if (imageRepository !== undefined && !isRepository(imageRepository))
    throw new AirlockError('USAGE', `--image-repository ${JSON.stringify(imageRepository)} is not a valid repository name`, {
      path: '--image-repository',
    });
  const trust = await trustFromOptions(values, io);
  const client = await clientFor(target.registry, registryAccess(values, io));
  const progress = progressFor(io, values.quiet || values.json);
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
  } finally {
    progress.done();
    client.close();
  }
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

function sourceOf(bundle: string | undefined, values: { deployment?: string | undefined; store?: string | undefined }, io: CliIO) {
  if (values.deployment !== undefined) {
    if (bundle !== undefined) throw new AirlockError('USAGE', 'give BUNDLE or --deployment, not both', { path: '--deployment' });
    if (values.store === undefined) throw new AirlockError('USAGE', '--deployment needs --store DIR', { path: '--store' });
    const store = path.resolve(io.cwd, values.store);
    const at = values.deployment.lastIndexOf('@');
    return at > 0 ? storeSource(store, values.deployment.slice(0, at), values.deployment.slice(at + 1)) : storeSource(store, values.deployment);
  }
  if (values.store !== undefined) throw new AirlockError('USAGE', '--store goes with --deployment', { path: '--store' });
  if (bundle === undefined) throw new AirlockError('USAGE', 'expected exactly one BUNDLE (or --deployment)');
  return path.resolve(io.cwd, bundle);
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
