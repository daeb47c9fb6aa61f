// Where things live inside a bundle and beside it. docs/format.md documents the same names.

export const MANIFEST_NAME = 'airlock.json';
export const PAYLOAD_DIR = 'payload';
export const IMAGES_DIR = 'images';
export const SIGNATURES_DIR = 'signatures';
export const SIGNATURE_SUFFIX = '.sig';
/** SSHSIG namespace for every airlock signature (PROTOCOL.sshsig: binds a signature to its purpose). */
export const SIGNATURE_NAMESPACE = 'airlock';
export const MANIFEST_SCHEMA_VERSION = 'airlock.bundle/v1';

/**
 * A manifest larger than this is refused before anything else is done with it (a 100,000-file manifest is
 * about 13 MiB). Configurable (`limits.manifestBytes`, `--max-manifest-size`): TUF's "endless data" attack.
 */
export const DEFAULT_MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** An armoured SSHSIG for ed25519 is under 400 bytes; anything near this is not one. */
export const MAX_SIGNATURE_BYTES = 16 * 1024;
export const MAX_SIGNATURES = 64;

/** Tar form: `<base>.airlock.tar`. */
export const TAR_SUFFIX = '.airlock.tar';
/** Split form: `<base>.airlock.tar.000`, `.001`, … beside the index `<base>.airlock.parts.json`. */
export const PARTS_INDEX_SUFFIX = '.airlock.parts.json';
/** Countersignatures beside a tar or split bundle: `<base>.airlock.signatures/<label>.sig`. */
export const SIDECAR_SIGNATURES_SUFFIX = '.airlock.signatures';
/** Signatures over a split bundle's parts index (docs/parts.md): `<base>.airlock.parts.signatures/<label>.sig`. */
export const PARTS_SIGNATURES_SUFFIX = '.airlock.parts.signatures';
/**
 * SSHSIG namespace of a parts index signature: a signature over a manifest can never count as one over an
 * index, nor the reverse (PROTOCOL.sshsig binds the namespace into the signed data).
 */
export const PARTS_NAMESPACE = 'airlock-parts';

export function partName(tarName: string, index: number): string {
  return `${tarName}.${String(index).padStart(3, '0')}`;
}

/** `<base>.airlock.parts.json` → `<base>.airlock.parts.signatures`. */
export function partsSignaturesName(indexName: string): string {
  return indexName.slice(0, indexName.length - PARTS_INDEX_SUFFIX.length) + PARTS_SIGNATURES_SUFFIX;
}

/** `foo.airlock.tar` or `foo.airlock.parts.json` or `foo.airlock.tar.000` → `foo`. */
export function bundleBaseName(fileName: string): string | undefined {
  const m = /^(.+)\.airlock\.(?:tar(?:\.\d{3,})?|parts\.json)$/.exec(fileName);
  return m?.[1];
}

export function payloadPath(relative: string): string {
  return `${PAYLOAD_DIR}/${relative}`;
}
