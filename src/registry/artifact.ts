// airlock's mapping onto OCI (pure; docs/registry.md): a bundle is an image manifest with artifactType
// application/vnd.airlock.bundle.v1 whose config blob is the exact airlock.json bytes and whose layers are the
// payload files the bundle carries, one each, digest = the SHA-256 the manifest lists, title = its path.
// Symlinks, modes and delta-omitted files live in airlock.json alone. The signatures are a second manifest
// whose subject is the first. Nothing read from a registry is believed before the signatures over the config
// blob hold; checkArtifact then holds the registry's layer list to the signed manifest.
import { AirlockError } from '../errors.js';
import { carriedFiles, type Manifest } from '../format/manifest.js';
import { SIGNATURE_SUFFIX } from '../format/layout.js';
import { parseManifestDocument, type Descriptor, type OciManifest } from './client.js';
import {
  ANNOTATION_PREFIX,
  BUNDLE_ARTIFACT,
  BUNDLE_CONFIG,
  BUNDLE_FILE,
  CREATED,
  IMAGE_ANNOTATION_PREFIX,
  OCI_EMPTY,
  OCI_EMPTY_BYTES,
  OCI_IMAGE_CONFIG,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  SIGNATURE_FILE,
  SIGNATURES_ARTIFACT,
  TITLE,
} from './media-types.js';
import { digestOf, isRepository, isSha256Digest } from './reference.js';
import { sha256Hex } from '../hash/digest.js';

export function emptyDescriptor(): Descriptor {
  return { mediaType: OCI_EMPTY, digest: digestOf(sha256Hex(OCI_EMPTY_BYTES)), size: OCI_EMPTY_BYTES.length };
}

/** Where each image of the bundle was pushed: archive path → `<repository>@sha256:…`. */
export type ImageLocations = Record<string, string>;

/** The bundle's artifact manifest, as bytes to push. `manifestDigest`: hex sha256 of airlock.json. */
export function bundleArtifact(manifestBytes: Buffer, manifestDigest: string, m: Manifest, images: ImageLocations): Buffer {
  const annotations: Record<string, string> = {
    [CREATED]: m.created,
    [`${ANNOTATION_PREFIX}name`]: m.name,
    [`${ANNOTATION_PREFIX}kind`]: m.kind,
    [`${ANNOTATION_PREFIX}channel`]: m.channel,
    [`${ANNOTATION_PREFIX}sequence`]: String(m.sequence),
    [`${ANNOTATION_PREFIX}id`]: m.id,
  };
  for (const img of m.images) {
    const at = images[img.archive];
    if (at !== undefined) annotations[`${IMAGE_ANNOTATION_PREFIX}${img.archive}`] = at;
  }
  const doc: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_ARTIFACT,
    config: { mediaType: BUNDLE_CONFIG, digest: digestOf(manifestDigest), size: manifestBytes.length },
    layers: carriedFiles(m).map((f) => ({ mediaType: BUNDLE_FILE, digest: digestOf(f.sha256), size: f.size, annotations: { [TITLE]: f.path } })),
    annotations,
  };
  return Buffer.from(JSON.stringify(doc));
}

/** A manifest from the registry that claims to be a bundle: right types, a config small enough to read. */
export function parseBundleArtifact(bytes: Buffer, where: string, maxConfigBytes: number): OciManifest {
  const doc = parseManifestDocument(bytes, `the artifact at ${where}`);
  if (doc.artifactType !== BUNDLE_ARTIFACT || doc.config.mediaType !== BUNDLE_CONFIG)
    throw new AirlockError(
      'REGISTRY_MISMATCH',
      `${where} is not an airlock bundle (artifactType ${JSON.stringify(doc.artifactType ?? null)}, config ${JSON.stringify(doc.config.mediaType)})`,
      { path: where },
    );
  if (doc.config.size > maxConfigBytes)
    throw new AirlockError('MANIFEST_TOO_LARGE', `the airlock.json of ${where} is ${doc.config.size} bytes, over the ${maxConfigBytes}-byte limit`, {
      path: where,
    });
  return doc;
}

/**
 * After the signatures held: the registry's layer list must be exactly the files the signed manifest carries
 * (the blobs are fetched by the signed digests anyway; a disagreeing artifact is a registry to be told about),
 * and every image must say where it was pushed. Returns archive path → `<repository>@sha256:…`.
 */
export function checkArtifact(doc: OciManifest, m: Manifest, where: string): ImageLocations {
  const signed = carriedFiles(m).map((f) => `${f.path}\0${digestOf(f.sha256)}\0${f.size}`);
  const served = doc.layers.map((l) => `${l.annotations?.[TITLE] ?? ''}\0${l.digest}\0${l.size}`);
  const count = new Map<string, number>();
  for (const s of signed) count.set(s, (count.get(s) ?? 0) + 1);
  for (const s of served) count.set(s, (count.get(s) ?? 0) - 1);
  const diff = [...count].find(([, n]) => n !== 0);
  if (diff || doc.layers.some((l) => l.mediaType !== BUNDLE_FILE)) {
    const [title = '?'] = (diff?.[0] ?? '').split('\0');
    throw new AirlockError(
      'REGISTRY_MISMATCH',
      `the layers of ${where} are not the files its signed airlock.json carries (first difference: ${JSON.stringify(title)})`,
      { path: title },
    );
  }
  const images: ImageLocations = {};
  for (const img of m.images) {
    const at = doc.annotations?.[`${IMAGE_ANNOTATION_PREFIX}${img.archive}`] ?? '';
    const [repository = '', digest = ''] = at.split('@');
    if (!isRepository(repository) || !isSha256Digest(digest))
      throw new AirlockError('REGISTRY_MISMATCH', `${where} does not say where image ${img.ref} (${img.archive}) was pushed`, { path: img.archive });
    images[img.archive] = at;
  }
  return images;
}

export interface SignatureBlob {
  /** the file name a reviewer sees: `alice.sig` */
  name: string;
  digest: string;
  size: number;
}

/** The manifest attaching signatures to the bundle artifact `subject`. Deterministic: the same set, the same digest. */
export function signaturesArtifact(subject: Descriptor, signatures: SignatureBlob[]): Buffer {
  const doc: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGNATURES_ARTIFACT,
    config: emptyDescriptor(),
    layers: [...signatures]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((s) => ({ mediaType: SIGNATURE_FILE, digest: s.digest, size: s.size, annotations: { [TITLE]: s.name } })),
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  return Buffer.from(JSON.stringify(doc));
}

const SIGNATURE_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}\\${SIGNATURE_SUFFIX}$`);

/** The signature files a signatures manifest lists (others ignored): name and blob. */
export function signatureLayers(doc: OciManifest): SignatureBlob[] {
  if (doc.artifactType !== SIGNATURES_ARTIFACT) return [];
  return doc.layers
    .filter((l) => l.mediaType === SIGNATURE_FILE && SIGNATURE_NAME.test(l.annotations?.[TITLE] ?? ''))
    .map((l) => ({ name: l.annotations![TITLE]!, digest: l.digest, size: l.size }));
}

/** An ordinary OCI image of a `docker save` archive: its config as it is, its layers uncompressed. */
export function imageManifest(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number }>): Buffer {
  const doc: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_IMAGE_CONFIG, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER_TAR, digest: l.digest, size: l.size })),
  };
  return Buffer.from(JSON.stringify(doc));
}

/**
 * Where an image goes by default: its reference's path, on the bundle's registry (as mirroring tools do):
 * `nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3` → repository `nim/meta/llama-3.1-8b-instruct`, tag `1.3.3`.
 */
export function imageRepositoryFor(ref: string): { repository: string; tag?: string } | undefined {
  const at = ref.indexOf('@');
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.indexOf('/');
  const first = slash >= 0 ? named.slice(0, slash) : '';
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  let rest = hasDomain ? named.slice(slash + 1) : named;
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!hasDomain && !rest.includes('/')) rest = `library/${rest}`;
  if (!isRepository(rest)) return undefined;
  return { repository: rest, ...(tag !== undefined && /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(tag) ? { tag } : {}) };
}
