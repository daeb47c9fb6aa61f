// A client of the OCI distribution API (distribution-spec v1.1) for one registry: what airlock needs to publish
// and to pull, no more. Every answer read into memory is capped, every digest the registry reports is checked
// against the bytes, redirects are followed only for reads and only to allowed hosts (credentials never leave
// the registry's own host), and a 401 is answered once through the Authenticator.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AirlockError, capText } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import { firstSchemaProblem } from '../util/schemas.js';
import { Authenticator } from './authenticator.js';
import { parseChallenge, repositoryScope } from './challenge.js';
import { loadCredentials, type Credentials, type RegistryAuthFiles } from './credentials.js';
import { OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { digestOf, referrersTag, type RegistryEndpoint } from './reference.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  discard,
  readCapped,
  Transport,
  type RegistryResponse,
  type RequestInit,
} from './transport.js';

/** Registries SHOULD accept manifests of 4 MiB (distribution-spec, "Pushing Manifests"); airlock reads no larger. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_INDEX_BYTES = 1024 * 1024;
const MAX_TAG_PAGE_BYTES = 1024 * 1024;
const MAX_ERROR_BODY = 8 * 1024;
const MAX_REDIRECTS = 5;
export const MAX_TAGS = 100_000;
export const MAX_REFERRERS = 1000;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface FetchedManifest {
  bytes: Buffer;
  /** sha256 of `bytes`, as `sha256:…` */
  digest: string;
  mediaType: string;
}

export interface RegistryClientOptions {
  registry: RegistryEndpoint;
  /** PEM file of the CA that signed the registry's certificate */
  caFile?: string;
  auth?: RegistryAuthFiles;
  /** hosts besides the registry's own a request may be sent to (its token service, blob storage) */
  extraHosts?: string[];
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface PingResult {
  /** the answer to GET /v2/ after authenticating (200 when all is well) */
  status: number;
  /** credentials were asked for and accepted */
  authenticated: boolean;
  /** `Docker-Distribution-Api-Version`, when sent */
  apiVersion?: string;
}

type Body = Buffer | (() => Readable);

interface SendInit {
  scope?: string;
  headers?: Record<string, string>;
  body?: Body;
  /** follow redirects (reads only) */
  follow?: boolean;
  signal?: AbortSignal;
}

export class RegistryClient {
  private readonly auth: Authenticator;

  private constructor(
    readonly registry: RegistryEndpoint,
    private readonly transport: Transport,
    credentials: Credentials,
  ) {
    this.auth = new Authenticator(credentials, transport);
  }

  static async create(o: RegistryClientOptions): Promise<RegistryClient> {
    let ca: Buffer | undefined;
    if (o.caFile !== undefined) {
      try {
        ca = await readFile(o.caFile);
      } catch (err) {
        throw new AirlockError('CONFIG_INVALID', `cannot read caFile ${o.caFile}: ${(err as Error).message}`, { path: o.caFile, cause: err });
      }
    }
    const credentials = await loadCredentials(o.auth);
    const allowed = new Set([o.registry.host.toLowerCase(), ...(o.extraHosts ?? []).map((h) => h.toLowerCase())]);
    const transport = new Transport({
      ...(ca ? { ca } : {}),
      allowedHosts: allowed,
      connectTimeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    });
    return new RegistryClient(o.registry, transport, credentials);
  }

  close(): void {
    this.transport.close();
  }

  url(path: string): URL {
    return new URL(path, this.registry.origin);
  }

  /** GET /v2/: reachable, TLS accepted, credentials accepted (doctor). */
  async ping(): Promise<PingResult> {
    const url = this.url('/v2/');
    let res = await this.transport.request('GET', url);
    let authenticated = false;
    if (res.status === 401) {
      discard(res);
      if (!(await this.auth.respond(parseChallenge(res.headers['www-authenticate']), ''))) {
        throw new AirlockError(
          'REGISTRY_AUTH',
          `${this.registry.origin} wants credentials and none are configured (auth.basicFile or auth.bearerTokenFile)`,
        );
      }
      const header = this.auth.header('');
      res = await this.transport.request('GET', url, header ? { headers: { Authorization: header } } : {});
      authenticated = true;
    }
    discard(res);
    if (res.status === 401 || res.status === 403)
      throw new AirlockError('REGISTRY_AUTH', `${this.registry.origin} refused the configured credentials`);
    if (res.status !== 200)
      throw new AirlockError(
        'REGISTRY_ERROR',
        `${this.registry.origin} answered HTTP ${res.status} to GET /v2/: not an OCI registry there${this.registry.secure ? '' : ' (or it wants https://)'}`,
        { path: this.registry.origin },
      );
    const apiVersion = res.headers['docker-distribution-api-version'];
    return { status: res.status, authenticated, ...(typeof apiVersion === 'string' ? { apiVersion } : {}) };
  }

  /** The request with credentials for `scope`, one answer to a 401, and (for reads) redirects to allowed hosts. */
  async send(method: string, target: string | URL, init: SendInit = {}): Promise<RegistryResponse> {
    let url = typeof target === 'string' ? this.url(target) : target;
    const scope = init.scope ?? '';
    let challenged = false;
    for (let hops = 0; ;) {
      const headers: Record<string, string> = { ...init.headers };
      // Credentials go to the registry's own host only, never to a storage host a redirect leads to.
      const authorization = url.host === this.registry.host ? this.auth.header(scope) : undefined;
      if (authorization) headers['Authorization'] = authorization;
      const req: RequestInit = { headers, ...(init.signal ? { signal: init.signal } : {}) };
      if (init.body !== undefined) req.body = Buffer.isBuffer(init.body) ? init.body : init.body();
      const res = await this.transport.request(method, url, req);
      if (res.status === 401 && !challenged && url.host === this.registry.host) {
        challenged = true;
        discard(res);
        if (await this.auth.respond(parseChallenge(res.headers['www-authenticate']), scope)) continue;
        throw new AirlockError(
          'REGISTRY_AUTH',
          `${this.registry.origin} wants credentials for ${scope || 'this request'} and has none it accepts (auth.basicFile or auth.bearerTokenFile)`,
          { path: this.registry.origin },
        );
      }
      const location = res.headers.location;
      if (init.follow && [301, 302, 303, 307, 308].includes(res.status) && typeof location === 'string') {
        discard(res);
        if (++hops > MAX_REDIRECTS) throw new AirlockError('REGISTRY_ERROR', `more than ${MAX_REDIRECTS} redirects from ${url.origin}`);
        const next = new URL(location, url);
        if (url.protocol === 'https:' && next.protocol !== 'https:')
          throw new AirlockError('REGISTRY_ERROR', `refusing a redirect from https to ${next.protocol} (${next.host})`, { path: next.host });
        url = next;
        continue;
      }
      return res;
    }
  }

  /** An answer that is not the expected status, as the code a person acts on; the body's first error is quoted. */
  async failure(res: RegistryResponse, what: string): Promise<AirlockError> {
    let detail = '';
    try {
      const body = await readCapped(res, MAX_ERROR_BODY, 'an error answer');
      const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
      const first = doc.errors?.[0];
      if (first) detail = `: ${String(first.code ?? '')} ${String(first.message ?? '')}`.trimEnd();
    } catch {
      res.body.destroy();
    }
    detail = capText(detail, 512);
    const text = `${what}: HTTP ${res.status}${detail}`;
    if (res.status === 404) return new AirlockError('REGISTRY_NOT_FOUND', text);
    if (res.status === 401 || res.status === 403) return new AirlockError('REGISTRY_AUTH', text);
    return new AirlockError('REGISTRY_ERROR', text);
  }

  /** The blob's size when the repository holds it, else undefined. */
  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    const res = await this.send('HEAD', `/v2/${repository}/blobs/${digest}`, { scope: repositoryScope(repository, 'pull'), follow: true });
    discard(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.failure(res, `HEAD blob ${digest} in ${repository}`);
    const size = Number(res.headers['content-length']);
    return Number.isSafeInteger(size) ? size : undefined;
  }

  /**
   * A blob's bytes as they come (the caller hashes them). The registry's own claims are checked on the way:
   * a Docker-Content-Digest other than the one asked for, or a length other than `size`, is REGISTRY_MISMATCH.
   */
  async openBlob(repository: string, digest: string, size: number | undefined, signal?: AbortSignal): Promise<RegistryResponse> {
    const res = await this.send('GET', `/v2/${repository}/blobs/${digest}`, {
      scope: repositoryScope(repository, 'pull'),
      follow: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) throw await this.failure(res, `GET blob ${digest} from ${repository}`);
    const claimed = res.headers['docker-content-digest'];
    const length = res.headers['content-length'];
    if ((typeof claimed === 'string' && claimed !== digest) || (size !== undefined && length !== undefined && Number(length) !== size)) {
      res.body.destroy();
      throw new AirlockError(
        'REGISTRY_MISMATCH',
        `the registry answered GET ${digest} with ${typeof claimed === 'string' ? `digest ${claimed}, ` : ''}${length ?? '?'} bytes (expected ${size ?? '?'})`,
        { path: digest },
      );
    }
    return res;
  }

  /** A small blob whole (a config, a signature), its bytes checked against its digest. */
  async blobBytes(repository: string, digest: string, max: number, what: string): Promise<Buffer> {
    const res = await this.openBlob(repository, digest, undefined);
    const bytes = await readCapped(res, max, what);
    if (digestOf(sha256Hex(bytes)) !== digest)
      throw new AirlockError('REGISTRY_MISMATCH', `${what} (${digest}) served by the registry does not hash to its digest`, { path: digest });
    return bytes;
  }

  /** A manifest or index by tag or digest; its digest is computed from the bytes (and checked when asked by digest). */
  async manifest(repository: string, reference: string, accept: string[], max = MAX_MANIFEST_BYTES): Promise<FetchedManifest> {
    const res = await this.send('GET', `/v2/${repository}/manifests/${reference}`, {
      scope: repositoryScope(repository, 'pull'),
      headers: { Accept: accept.join(', ') },
      follow: true,
    });
    if (res.status !== 200) throw await this.failure(res, `GET manifest ${reference} of ${repository}`);
    const bytes = await readCapped(res, max, `manifest ${reference} of ${repository}`);
    const digest = digestOf(sha256Hex(bytes));
    const claimed = res.headers['docker-content-digest'];
    if ((reference.startsWith('sha256:') && reference !== digest) || (typeof claimed === 'string' && claimed !== digest)) {
      throw new AirlockError('REGISTRY_MISMATCH', `manifest ${reference} of ${repository} does not hash to the digest the registry gives for it`, {
        path: reference,
      });
    }
    return {
      bytes,
      digest,
      mediaType: String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim(),
    };
  }

  /** The digest a tag points at (HEAD; a GET when the registry does not say), undefined when there is no such tag. */
  async resolve(repository: string, reference: string, accept: string[]): Promise<string | undefined> {
    const res = await this.send('HEAD', `/v2/${repository}/manifests/${reference}`, {
      scope: repositoryScope(repository, 'pull'),
      headers: { Accept: accept.join(', ') },
      follow: true,
    });
    discard(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.failure(res, `HEAD manifest ${reference} of ${repository}`);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && /^sha256:[0-9a-f]{64}$/.test(claimed)) return claimed;
    return (await this.manifest(repository, reference, accept)).digest;
  }

  /** PUT a manifest or index; returns its digest and whether the registry processed its subject (OCI-Subject). */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<{ digest: string; subjectProcessed: boolean }> {
    const res = await this.send('PUT', `/v2/${repository}/manifests/${reference}`, {
      scope: repositoryScope(repository, 'pull,push'),
      headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) throw await this.failure(res, `PUT manifest ${reference} to ${repository}`);
    discard(res);
    const digest = digestOf(sha256Hex(bytes));
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed !== digest)
      throw new AirlockError('REGISTRY_MISMATCH', `the registry stored manifest ${reference} under ${claimed}, not ${digest}`);
    return { digest, subjectProcessed: res.headers['oci-subject'] !== undefined };
  }

  /** Every tag of the repository (pages followed through the Link header), at most MAX_TAGS. */
  async tags(repository: string, pageSize = 1000): Promise<string[]> {
    const out: string[] = [];
    let next: URL | undefined = this.url(`/v2/${repository}/tags/list?n=${pageSize}`);
    while (next) {
      const res = await this.send('GET', next, { scope: repositoryScope(repository, 'pull'), follow: true });
      if (res.status === 404) {
        discard(res);
        return out; // no such repository yet: nothing published
      }
      if (res.status !== 200) throw await this.failure(res, `list tags of ${repository}`);
      const doc = parseJson(await readCapped(res, MAX_TAG_PAGE_BYTES, `a page of tags of ${repository}`), 'registry-tags', 'the tag list');
      const tags = (doc as { tags: string[] | null }).tags ?? [];
      if (out.length + tags.length > MAX_TAGS)
        throw new AirlockError('REGISTRY_ERROR', `${repository} has more than ${MAX_TAGS} tags; refusing to list them`);
      out.push(...tags);
      next = tags.length === 0 ? undefined : nextLink(res, next);
    }
    return out;
  }

  /**
   * The manifests whose subject is `digest` and whose artifactType is `artifactType`: the referrers API, or
   * (when it answers 404, as CNCF Distribution 2.8 does) the index under the referrers tag.
   */
  async referrers(repository: string, digest: string, artifactType: string): Promise<{ descriptors: Descriptor[]; via: 'api' | 'tag' }> {
    const url = this.url(`/v2/${repository}/referrers/${digest}`);
    url.searchParams.set('artifactType', artifactType);
    const res = await this.send('GET', url, { scope: repositoryScope(repository, 'pull'), headers: { Accept: OCI_INDEX }, follow: true });
    if (res.status === 200) {
      const index = parseIndex(await readCapped(res, MAX_INDEX_BYTES, `the referrers of ${digest}`));
      return { descriptors: ofType(index.manifests, artifactType), via: 'api' };
    }
    if (res.status !== 404) throw await this.failure(res, `list referrers of ${digest}`);
    discard(res);
    const index = await this.referrersIndex(repository, digest);
    return { descriptors: ofType(index?.manifests ?? [], artifactType), via: 'tag' };
  }

  /** The index under the referrers tag of `digest`, or undefined when there is none. */
  async referrersIndex(repository: string, digest: string): Promise<OciIndex | undefined> {
    try {
      const m = await this.manifest(repository, referrersTag(digest), [OCI_INDEX], MAX_INDEX_BYTES);
      return parseIndex(m.bytes);
    } catch (err) {
      if (err instanceof AirlockError && err.code === 'REGISTRY_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * distribution-spec, "Pushing Manifests with Subject": when the registry did not process the subject (no
   * OCI-Subject), add the referrer's descriptor to the index under the referrers tag (once).
   */
  async addReferrer(repository: string, subject: string, referrer: Descriptor): Promise<void> {
    const index = (await this.referrersIndex(repository, subject)) ?? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (index.manifests.some((d) => d.digest === referrer.digest)) return;
    const next = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...index.manifests, referrer] };
    await this.putManifest(repository, referrersTag(subject), Buffer.from(JSON.stringify(next)), OCI_INDEX);
  }
}

/** A parsed OCI image manifest (schema oci-manifest), or REGISTRY_MISMATCH naming the first problem. */
export function parseManifestDocument(bytes: Buffer, what: string): OciManifest {
  return parseJson(bytes, 'oci-manifest', what) as OciManifest;
}

function parseIndex(bytes: Buffer): OciIndex {
  const index = parseJson(bytes, 'oci-index', 'the referrers index') as OciIndex;
  if (index.manifests.length > MAX_REFERRERS) throw new AirlockError('REGISTRY_ERROR', `more than ${MAX_REFERRERS} referrers; refusing them`);
  return index;
}

function parseJson(bytes: Buffer, schema: string, what: string): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AirlockError('REGISTRY_MISMATCH', `${what} is not JSON`);
  }
  const problem = firstSchemaProblem(schema, doc);
  if (problem) throw new AirlockError('REGISTRY_MISMATCH', `${what}: ${problem.field} ${problem.message}`, { path: problem.field });
  return doc;
}

/**
 * The manifests of `artifactType`, then those whose descriptor does not say (tools that rewrite an index, such
 * as skopeo 1.9 copying a referrers tag, drop artifactType): the caller reads those to see what they are.
 */
function ofType(descriptors: Descriptor[], artifactType: string): Descriptor[] {
  const manifests = descriptors.filter((d) => d.mediaType === OCI_MANIFEST);
  return [...manifests.filter((d) => d.artifactType === artifactType), ...manifests.filter((d) => d.artifactType === undefined)];
}

/** RFC 5988 `Link: </v2/…?last=x&n=…>; rel="next"`, resolved against the page it came with. */
function nextLink(res: RegistryResponse, base: URL): URL | undefined {
  const link = res.headers.link;
  const text = Array.isArray(link) ? link.join(', ') : (link ?? '');
  const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(text);
  return m ? new URL(m[1]!, base) : undefined;
}
