// Names in the OCI distribution spec, parsed and checked once (pure): a registry's base URL, a repository, a
// tag, a digest, and the `--to` target `[http://|https://]HOST[:PORT]/REPOSITORY[:TAG]`. A name that does not
// match the spec's grammar never reaches a URL path.
import { AirlockError } from '../errors.js';

/** A registry's base: `origin` for requests, `host` as Docker names it in image references. */
export interface RegistryEndpoint {
  /** `http://127.0.0.1:5000` or `https://registry.example` (no path, no trailing slash) */
  origin: string;
  /** `127.0.0.1:5000` or `registry.example` (the default port left out, as in image references) */
  host: string;
  secure: boolean;
}

export interface RepositoryTarget {
  registry: RegistryEndpoint;
  repository: string;
  tag?: string;
  digest?: string;
}

// distribution-spec, "Pulling manifests": <name> and <reference>.
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Docker's limit on a whole repository name; the spec leaves it to registries. */
const MAX_REPOSITORY = 255;

export function isRepository(s: string): boolean {
  return s.length <= MAX_REPOSITORY && REPOSITORY.test(s);
}

export function isTag(s: string): boolean {
  return TAG.test(s);
}

/** Only sha256 digests: airlock names every byte by its SHA-256. */
export function isSha256Digest(s: string): boolean {
  return SHA256_DIGEST.test(s);
}

/** `sha256:<hex>` for a lowercase hex SHA-256. */
export function digestOf(hex: string): string {
  return `sha256:${hex}`;
}

/** The hex part of a sha256 digest. */
export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** A registry's base URL from the config or the command line: http(s)://HOST[:PORT], nothing else. */
export function parseRegistryUrl(text: string, field = 'url'): RegistryEndpoint {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new AirlockError('CONFIG_INVALID', `${field} ${JSON.stringify(text)} is not a URL such as https://registry.example:5000`, { path: field });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new AirlockError('CONFIG_INVALID', `${field} ${JSON.stringify(text)}: only http:// and https:// registries are supported`, { path: field });
  if (u.username || u.password)
    throw new AirlockError('CONFIG_INVALID', `${field} must not carry credentials; use auth.basicFile or auth.bearerTokenFile`, { path: field });
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    throw new AirlockError(
      'CONFIG_INVALID',
      `${field} ${JSON.stringify(text)} must be the registry's base (no path): the repository is given apart`,
      {
        path: field,
      },
    );
  return { origin: u.origin, host: u.host, secure: u.protocol === 'https:' };
}

/**
 * `--to` of airlock publish, `--registry` of install: `[http://|https://]HOST[:PORT]/REPOSITORY[:TAG][@sha256:HEX]`.
 * Without a scheme the registry is reached over https (as docker does); plain http must be asked for.
 */
export function parseRepositoryTarget(text: string, field = '--to'): RepositoryTarget {
  const usage = `${field} ${JSON.stringify(text)} is not [http://|https://]HOST[:PORT]/REPOSITORY[:TAG]`;
  const m = /^(?:(https?):\/\/)?([^/]+)\/([^@]+)(?:@(.*))?$/.exec(text);
  if (!m) throw new AirlockError('USAGE', usage, { path: field });
  const [, scheme = 'https', hostPart = '', rest = '', digest] = m;
  if (digest !== undefined && !isSha256Digest(digest))
    throw new AirlockError('USAGE', `${usage}: ${JSON.stringify(digest)} is not a sha256 digest`, { path: field });
  let registry: RegistryEndpoint;
  try {
    registry = parseRegistryUrl(`${scheme}://${hostPart}`, field);
  } catch (err) {
    throw new AirlockError('USAGE', (err as Error).message, { path: field });
  }
  const colon = rest.lastIndexOf(':');
  const repository = colon >= 0 ? rest.slice(0, colon) : rest;
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  if (!isRepository(repository))
    throw new AirlockError(
      'USAGE',
      `${usage}: repository ${JSON.stringify(repository)} is not a valid OCI repository name (lowercase, / separated)`,
      {
        path: field,
      },
    );
  if (tag !== undefined && !isTag(tag)) throw new AirlockError('USAGE', `${usage}: ${JSON.stringify(tag)} is not a valid tag`, { path: field });
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/**
 * The referrers tag schema (distribution-spec 1.1, "Referrers Tag Schema"): where the list of manifests whose
 * subject is `digest` lives on a registry without the referrers API (CNCF Distribution 2.8).
 */
export function referrersTag(digest: string): string {
  const [alg = '', encoded = ''] = digest.split(':');
  return `${alg.slice(0, 32)}-${encoded.slice(0, 64)}`.replace(/[^a-zA-Z0-9._-]/g, '-');
}

/** An image reference by digest, as the Docker Engine pulls it: `HOST/REPOSITORY@sha256:…`. */
export function pullReference(registry: RegistryEndpoint, repository: string, digest: string): string {
  return `${registry.host}/${repository}@${digest}`;
}

/** How a repository is named in messages: `http://127.0.0.1:5000/models/x:stable-3`. */
export function describeTarget(registry: RegistryEndpoint, repository: string, ref?: string): string {
  if (ref === undefined) return `${registry.origin}/${repository}`;
  return `${registry.origin}/${repository}${isSha256Digest(ref) ? '@' : ':'}${ref}`;
}
