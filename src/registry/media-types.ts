// The media types and annotation keys of airlock's OCI mapping (docs/registry.md says what each one holds).

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** An uncompressed layer: what `docker save` archives hold, pushed as it is (its digest is the config's diff_id). */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
/** image-spec v1.1 "empty descriptor": the config of an artifact that needs none (`{}`). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_EMPTY_BYTES = Buffer.from('{}');
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** The bundle: artifactType of its manifest. */
export const BUNDLE_ARTIFACT = 'application/vnd.airlock.bundle.v1';
/** The config blob of the bundle artifact: the exact bytes of airlock.json. */
export const BUNDLE_CONFIG = 'application/vnd.airlock.manifest.v1+json';
/** One payload file as it is, named by its path in the title annotation. */
export const BUNDLE_FILE = 'application/vnd.airlock.file.v1';
/** The signatures over airlock.json: artifactType of a manifest whose subject is the bundle artifact. */
export const SIGNATURES_ARTIFACT = 'application/vnd.airlock.signatures.v1';
/** One armoured SSHSIG signature file (ssh-keygen -Y sign, namespace airlock). */
export const SIGNATURE_FILE = 'application/vnd.airlock.signature.v1';

export const TITLE = 'org.opencontainers.image.title';
export const CREATED = 'org.opencontainers.image.created';
/** Informational copies of the manifest's fields, for listing tools; the signed airlock.json decides. */
export const ANNOTATION_PREFIX = 'vnd.airlock.';
/** `vnd.airlock.image.<archive path>`: `<repository>@sha256:…` of the image pushed for that archive. */
export const IMAGE_ANNOTATION_PREFIX = 'vnd.airlock.image.';
