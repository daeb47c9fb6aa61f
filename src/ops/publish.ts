// Publish a verified bundle into an OCI registry (docs/registry.md), written once for `airlock publish`: the
// bundle is judged exactly as an install judges it (signatures over the exact airlock.json bytes, manifest,
// expiry, then every payload byte hashed) before anything is sent, so a registry never holds what airlock
// would reject. Then, with HEAD first for every blob (what the registry holds is not sent again):
//   1. the payload files, each a blob named by the SHA-256 the manifest lists, streamed from disk;
//   2. each container image, as an ordinary OCI image (its config digest must be the image ID the manifest pins);
//   3. airlock.json as the config blob, and the artifact manifest, pushed by digest;
//   4. the signatures, a manifest whose subject is the artifact (referrers API, or the referrers tag);
//   5. only then the tag, so a daemon never sees the bundle without its signatures.
import { createReadStream, read as readCallback } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { fileSystemSource } from '../bundle/fs-source.js';
import { walkPayload } from '../bundle/payload-walk.js';
import { hashesInPool, type BundleSource, type EntryData, type OpenedBundle, type ReadLimits } from '../bundle/source.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError } from '../errors.js';
import { PAYLOAD_DIR } from '../format/layout.js';
import { carriedFiles, manifestTotals, type ImageEntry } from '../format/manifest.js';
import { namedSignatures } from '../format/signature-names.js';
import { sha256Hex } from '../hash/digest.js';
import { HashPool } from '../hash/hash-pool.js';
import { bundleArtifact, emptyDescriptor, imageManifest, imageRepositoryFor, signaturesArtifact, type ImageLocations } from '../registry/artifact.js';
import { uploadBlob, type BlobToUpload } from '../registry/blob-upload.js';
import { MAX_MANIFEST_BYTES, type RegistryClient } from '../registry/client.js';
import { OCI_EMPTY_BYTES, OCI_MANIFEST, SIGNATURES_ARTIFACT } from '../registry/media-types.js';
import { digestOf, isTag, pullReference } from '../registry/reference.js';
import { readSavedImage } from '../registry/saved-image.js';
import type { UploadSessions } from '../registry/upload-sessions.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import type { TrustReport } from '../trust/policy.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { Lanes } from '../util/lanes.js';

const readAt = promisify(readCallback);

export interface PublishOptions {
  client: RegistryClient;
  repository: string;
  /** default `CHANNEL-SEQUENCE` */
  tag?: string;
  /** where images go (default: their reference's path on the same registry) */
  imageRepository?: string;
  allowedSigners: AllowedSigner[];
  revokedKeys?: RevokedKeys;
  threshold: number;
  now?: Date;
  limits?: ReadLimits;
  sessions?: UploadSessions;
  /** blobs uploaded at once (default 6) */
  concurrency?: number;
  onProgress?: (p: PublishProgress) => void;
  signal?: AbortSignal;
}

export interface PublishProgress {
  phase: 'verifying' | 'uploading';
  bytesDone: number;
  bytesTotal: number;
}

export interface BlobTally {
  uploaded: number;
  present: number;
  bytesUploaded: number;
  bytesPresent: number;
}

export interface PublishedImage {
  ref: string;
  id: string;
  repository: string;
  tag?: string;
  /** the image manifest's digest */
  digest: string;
  /** what a Docker Engine or a Kubernetes node pulls: HOST/REPOSITORY@sha256:… */
  pull: string;
}

export interface PublishResult {
  registry: string;
  repository: string;
  tag: string;
  /** the artifact manifest's digest: what the tag names */
  digest: string;
  /** `HOST/REPOSITORY:TAG@sha256:…` */
  reference: string;
  bundle: { id: string; name: string; kind: string; channel: string; sequence: number; manifestDigest: string };
  trust: TrustReport;
  /** payload files (the layers of the artifact) */
  payload: BlobTally;
  /** image configs and layers */
  imageBlobs: BlobTally;
  images: PublishedImage[];
  signatures: { count: number; digest: string; via: 'api' | 'tag' };
  durationMs: number;
}

export async function publishBundle(input: string | BundleSource, opts: PublishOptions): Promise<PublishResult> {
  const started = Date.now();
  const source = typeof input === 'string' ? fileSystemSource(input) : input;
  const header = await source.open(opts.limits);
  try {
    const now = opts.now ?? new Date();
    const trust = evaluateTrust(header, {
      allowedSigners: opts.allowedSigners,
      threshold: opts.threshold,
      now,
      ...(opts.revokedKeys ? { revokedKeys: opts.revokedKeys } : {}),
    });
    const bundle = passGates(header, trust, now);
    refuseUnpublishable(bundle);
    refuseOversized(bundle);
    await verifyPayload(bundle, opts);
    const tag = opts.tag ?? `${bundle.manifest.channel}-${bundle.manifest.sequence}`;
    if (!isTag(tag)) throw new AirlockError('USAGE', `${JSON.stringify(tag)} is not a valid tag`, { path: '--tag' });
    return await push(bundle, trust, tag, opts, started);
  } finally {
    await header.close();
  }
}

function refuseUnpublishable(bundle: OpenedBundle): void {
  if (!hashesInPool(bundle.form))
    throw new AirlockError(
      'USAGE',
      `publish reads a bundle folder, a single .airlock.tar or a deployment in a store (--deployment); ${bundle.location} is a ${bundle.form} bundle: join split parts with cat first, or install it and publish --deployment`,
      { path: bundle.location },
    );
  const pulled = bundle.manifest.images.find((i) => bundle.imagePulls?.[i.archive] !== undefined);
  if (pulled)
    throw new AirlockError(
      'IMAGE_MISSING',
      `${bundle.location} was installed from a registry: the archive of image ${pulled.ref} is not in the store (it is pulled from ${bundle.imagePulls![pulled.archive]}); copy that image with skopeo, or publish the bundle itself`,
      { path: pulled.archive },
    );
}

/** A bundle whose artifact manifest would exceed what registries accept (and airlock reads) is refused up front. */
function refuseOversized(bundle: OpenedBundle): void {
  const placeholder = `${'x'.repeat(255)}@sha256:${'0'.repeat(64)}`;
  const images = Object.fromEntries(bundle.manifest.images.map((i) => [i.archive, placeholder]));
  const size = bundleArtifact(bundle.manifestBytes, bundle.digest, bundle.manifest, images).length;
  if (size > MAX_MANIFEST_BYTES)
    throw new AirlockError(
      'MANIFEST_TOO_LARGE',
      `${bundle.location} lists too many files for one OCI manifest: its artifact would be ${size} bytes, over the ${MAX_MANIFEST_BYTES} registries are asked to accept`,
      { path: bundle.location },
    );
}

/** Every payload byte hashed against the signed manifest before anything is sent (the walk `airlock verify` does). */
async function verifyPayload(bundle: OpenedBundle, opts: PublishOptions): Promise<void> {
  const total = manifestTotals(bundle.manifest).carriedBytes;
  let done = 0;
  const pool = new HashPool();
  const stop = () => void pool.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    const walk = await walkPayload(bundle, {
      pool,
      onBytes: (n) => opts.onProgress?.({ phase: 'verifying', bytesDone: (done += n), bytesTotal: total }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!walk.failures.empty)
      throw walk.failures.toError(`bundle ${bundle.manifest.id} rejected: ${walk.failures.items[0]!.message}; nothing was published`);
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await pool.close();
  }
}

interface Pending {
  image: ImageEntry;
  repository: string;
  tag?: string;
  manifest: Buffer;
}

async function push(bundle: OpenedBundle, trust: TrustReport, tag: string, opts: PublishOptions, started: number): Promise<PublishResult> {
  const { client, repository } = opts;
  const m = bundle.manifest;
  const payload: BlobTally = { uploaded: 0, present: 0, bytesUploaded: 0, bytesPresent: 0 };
  const imageBlobs: BlobTally = { uploaded: 0, present: 0, bytesUploaded: 0, bytesPresent: 0 };
  const total = manifestTotals(m).carriedBytes;
  let done = 0;
  const progress = (n: number) => opts.onProgress?.({ phase: 'uploading', bytesDone: (done += n), bytesTotal: total });
  const send = async (repo: string, blob: BlobToUpload, tally: BlobTally) => {
    const outcome = await uploadBlob(client, repo, blob, {
      ...(opts.sessions ? { sessions: opts.sessions } : {}),
      onBytes: progress,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (outcome === 'present') {
      progress(blob.size);
      tally.present++;
      tally.bytesPresent += blob.size;
    } else {
      tally.uploaded++;
      tally.bytesUploaded += blob.size;
    }
  };

  const files = new Map(carriedFiles(m).map((f) => [`${PAYLOAD_DIR}/${f.path}`, f]));
  const images = new Map(m.images.map((i) => [i.archive, i]));
  const queued = new Set<string>();
  const pending: Pending[] = [];
  const lanes = new Lanes(opts.concurrency ?? 6);
  try {
    for await (const entry of bundle.entries()) {
      if (lanes.failed) break;
      const file = files.get(entry.path);
      const image = images.get(entry.path);
      if (!file && !image) continue;
      if (file) {
        if (queued.has(file.sha256)) continue;
        queued.add(file.sha256);
        const data = await entry.open!();
        const job = () =>
          send(
            repository,
            { digest: digestOf(file.sha256), size: file.size, what: file.path, open: (o) => region(data, o, file.size) },
            payload,
          ).finally(() => data.release());
        await lanes.run(job).catch(async (err: unknown) => {
          await data.release();
          throw err;
        });
        continue;
      }
      pending.push(await queueImage(image!, await entry.open!(), opts, lanes, queued, send, imageBlobs));
    }
    await lanes.drain();
  } finally {
    await lanes.settle();
  }

  const published: PublishedImage[] = [];
  const locations: ImageLocations = {};
  for (const p of pending) {
    const { digest } = await client.putManifest(p.repository, digestOf(sha256Hex(p.manifest)), p.manifest, OCI_MANIFEST);
    if (p.tag !== undefined) await client.putManifest(p.repository, p.tag, p.manifest, OCI_MANIFEST);
    locations[p.image.archive] = `${p.repository}@${digest}`;
    published.push({
      ref: p.image.ref,
      id: p.image.id,
      repository: p.repository,
      ...(p.tag === undefined ? {} : { tag: p.tag }),
      digest,
      pull: pullReference(client.registry, p.repository, digest),
    });
  }

  // airlock.json as the config blob, then the artifact by digest (untagged: not yet visible to a daemon).
  await uploadBlob(client, repository, {
    digest: digestOf(bundle.digest),
    size: bundle.manifestBytes.length,
    what: 'airlock.json',
    open: (o) => Readable.from([bundle.manifestBytes.subarray(o)]),
  });
  const artifact = bundleArtifact(bundle.manifestBytes, bundle.digest, m, locations);
  const { digest } = await client.putManifest(repository, digestOf(sha256Hex(artifact)), artifact, OCI_MANIFEST);

  const signatures = await attachSignatures(bundle, trust, { mediaType: OCI_MANIFEST, digest, size: artifact.length }, opts);
  await client.putManifest(repository, tag, artifact, OCI_MANIFEST);
  return {
    registry: client.registry.origin,
    repository,
    tag,
    digest,
    reference: `${client.registry.host}/${repository}:${tag}@${digest}`,
    bundle: { id: m.id, name: m.name, kind: m.kind, channel: m.channel, sequence: m.sequence, manifestDigest: bundle.digest },
    trust,
    payload,
    imageBlobs,
    images: published,
    signatures,
    durationMs: Date.now() - started,
  };
}

/** Read an image archive's layout and queue its config and layers; returns its manifest, pushed once they are in. */
async function queueImage(
  image: ImageEntry,
  data: EntryData,
  opts: PublishOptions,
  lanes: Lanes,
  queued: Set<string>,
  send: (repo: string, blob: BlobToUpload, tally: BlobTally) => Promise<void>,
  tally: BlobTally,
): Promise<Pending> {
  const base = data.offset ?? 0;
  const read = async (buf: Buffer, position: number) => (await readAt(data.fd, buf, 0, buf.length, position)).bytesRead;
  const saved = await readSavedImage(read, base, image.size, image.id, image.archive).catch(async (err: unknown) => {
    await data.release();
    throw err;
  });
  const target = opts.imageRepository !== undefined ? { repository: opts.imageRepository, ...tagOf(image.ref) } : imageRepositoryFor(image.ref);
  if (!target)
    throw new AirlockError('USAGE', `image ${image.ref} has no reference airlock can turn into a repository name; give --image-repository`, {
      path: image.ref,
    });
  const repo = target.repository;
  const blobs: BlobToUpload[] = [
    {
      digest: saved.configDigest,
      size: saved.config.length,
      what: `the config of ${image.ref}`,
      open: (o) => Readable.from([saved.config.subarray(o)]),
    },
    ...saved.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      what: `layer ${i + 1} of ${image.ref}`,
      open: (o: number) => region({ fd: data.fd, offset: l.offset, release: async () => undefined }, o, l.size),
    })),
  ];
  // The archive's descriptor is released once every job reading it has ended (or was never started).
  let left = blobs.length;
  const release = () => (--left === 0 ? data.release() : Promise.resolve());
  for (const [i, blob] of blobs.entries()) {
    const key = `${repo}@${blob.digest}`;
    if (queued.has(key)) {
      await release();
      continue;
    }
    queued.add(key);
    try {
      await lanes.run(() => send(repo, blob, tally).finally(release));
    } catch (err) {
      for (let j = i; j < blobs.length; j++) await release();
      throw err;
    }
  }
  return {
    image,
    repository: repo,
    ...(target.tag === undefined ? {} : { tag: target.tag }),
    manifest: imageManifest({ digest: saved.configDigest, size: saved.config.length }, saved.layers),
  };
}

function tagOf(ref: string): { tag?: string } {
  const tag = imageRepositoryFor(ref)?.tag;
  return tag === undefined ? {} : { tag };
}

/** Upload the signature files and attach them to the artifact (referrers API, or the referrers tag of a 2.8 registry). */
async function attachSignatures(
  bundle: OpenedBundle,
  trust: TrustReport,
  subject: { mediaType: string; digest: string; size: number },
  opts: PublishOptions,
): Promise<PublishResult['signatures']> {
  const { client, repository } = opts;
  // Signatures that verify over these bytes travel, trusted here or not (another host may trust them);
  // malformed or revoked ones stay behind.
  const valid = new Set(trust.signers.filter((s) => s.status === 'trusted' || s.status === 'untrusted').map((s) => s.signature));
  const named = namedSignatures(bundle.signatures.filter((s) => valid.has(s.name)));
  // The empty config (`{}`) is a blob like any other: a registry refuses a manifest whose blobs it lacks.
  await uploadBlob(client, repository, {
    digest: emptyDescriptor().digest,
    size: OCI_EMPTY_BYTES.length,
    what: 'the empty config',
    open: () => Readable.from([OCI_EMPTY_BYTES]),
  });
  for (const s of named)
    await uploadBlob(client, repository, {
      digest: digestOf(s.sha256),
      size: s.bytes.length,
      what: s.name,
      open: (o) => Readable.from([s.bytes.subarray(o)]),
    });
  const doc = signaturesArtifact(
    subject,
    named.map((s) => ({ name: s.name, digest: digestOf(s.sha256), size: s.bytes.length })),
  );
  const pushed = await client.putManifest(repository, digestOf(sha256Hex(doc)), doc, OCI_MANIFEST);
  let via: 'api' | 'tag' = 'api';
  if (!pushed.subjectProcessed) {
    via = 'tag';
    await client.addReferrer(repository, subject.digest, {
      mediaType: OCI_MANIFEST,
      digest: pushed.digest,
      size: doc.length,
      artifactType: SIGNATURES_ARTIFACT,
    });
  }
  return { count: named.length, digest: pushed.digest, via };
}

/** The bytes [offset, size) of an entry, streamed from its descriptor (a region of a tar, or a file of its own). */
function region(data: EntryData, offset: number, size: number): Readable {
  if (offset >= size) return Readable.from([]);
  const start = (data.offset ?? 0) + offset;
  return createReadStream('', { fd: data.fd, start, end: (data.offset ?? 0) + size - 1, autoClose: false, highWaterMark: 1024 * 1024 });
}
