// A bundle in an OCI registry (docs/registry.md), as a bundle source. open() does bounded work only: the
// artifact manifest (by digest), its config blob (the exact airlock.json bytes, capped like any manifest) and
// the signatures attached to it; nothing of the payload. Once the caller's trust decision holds, parse() holds
// the registry's layer list to the signed manifest, and entries() streams each payload blob by the SHA-256 the
// signed manifest lists, skipping what the caller's store already holds. Images stay in the registry: the
// runtime pulls them by digest (imagePulls).
import { AirlockError } from '../errors.js';
import { MAX_SIGNATURE_BYTES, MAX_SIGNATURES, PAYLOAD_DIR, SIGNATURES_DIR } from '../format/layout.js';
import { carriedFiles, parseManifest, type Manifest } from '../format/manifest.js';
import { checkArtifact, parseBundleArtifact, signatureLayers } from '../registry/artifact.js';
import { parseManifestDocument, RegistryClient } from '../registry/client.js';
import { OCI_MANIFEST, SIGNATURES_ARTIFACT } from '../registry/media-types.js';
import { describeTarget, digestOf, hexOf, isSha256Digest, parseRegistryUrl, pullReference, type RegistryEndpoint } from '../registry/reference.js';
import { networkError, readCapped } from '../registry/transport.js';
import type { SignatureInput } from '../trust/policy.js';
import {
  DEFAULT_READ_LIMITS,
  type BundleEntry,
  type BundleHeader,
  type BundleSource,
  type EntriesOptions,
  type OpenedBundle,
  type SourceRef,
} from './source.js';

/** Signature manifests read per bundle, and the size of each: signatures are a few hundred bytes. */
const MAX_SIGNATURE_MANIFESTS = 16;
const MAX_SIGNATURE_MANIFEST_BYTES = 64 * 1024;

/** What the daemon's records keep of a registry bundle: where it is and how to reach it (paths, never secrets). */
export interface RegistryRefInput {
  url: string;
  repository: string;
  /** the artifact manifest's digest: the tag was only the name it was found under */
  digest: string;
  tag?: string;
  channel?: string;
  name?: string;
  caFile?: string;
  basicFile?: string;
  bearerTokenFile?: string;
  extraHosts?: string[];
}

export function registryRef(r: RegistryRefInput): SourceRef {
  const registry = parseRegistryUrl(r.url);
  const params: Record<string, string> = { url: registry.origin, repository: r.repository, digest: r.digest };
  for (const k of ['tag', 'channel', 'name', 'caFile', 'basicFile', 'bearerTokenFile'] as const) {
    const v = r[k];
    if (v !== undefined) params[k] = v;
  }
  if (r.extraHosts?.length) params['extraHosts'] = r.extraHosts.join(',');
  return { kind: 'registry', location: describeTarget(registry, r.repository, r.tag ?? r.digest), params };
}

export function registrySource(ref: SourceRef): BundleSource {
  const p = ref.params ?? {};
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  const url = str('url');
  const repository = str('repository');
  const digest = str('digest');
  if (url === undefined || repository === undefined || digest === undefined || !isSha256Digest(digest))
    throw new AirlockError('INTERNAL', `registry source ${ref.location} lacks its url, repository or digest`);
  const registry = parseRegistryUrl(url);
  const caFile = str('caFile');
  const basicFile = str('basicFile');
  const bearerTokenFile = str('bearerTokenFile');
  const extraHosts = str('extraHosts')?.split(',').filter(Boolean);
  const expect = { channel: str('channel'), name: str('name') };
  return {
    location: ref.location,
    async open(limits = DEFAULT_READ_LIMITS): Promise<BundleHeader> {
      const client = await RegistryClient.create({
        registry,
        ...(caFile ? { caFile } : {}),
        ...(basicFile || bearerTokenFile ? { auth: { ...(basicFile ? { basicFile } : {}), ...(bearerTokenFile ? { bearerTokenFile } : {}) } } : {}),
        ...(extraHosts?.length ? { extraHosts } : {}),
      });
      try {
        return await openArtifact(client, registry, repository, digest, ref.location, limits.maxManifestBytes, expect);
      } catch (err) {
        client.close();
        throw err;
      }
    },
  };
}

async function openArtifact(
  client: RegistryClient,
  registry: RegistryEndpoint,
  repository: string,
  digest: string,
  location: string,
  maxManifestBytes: number,
  expect: { channel: string | undefined; name: string | undefined },
): Promise<BundleHeader> {
  const fetched = await client.manifest(repository, digest, [OCI_MANIFEST]);
  const artifact = parseBundleArtifact(fetched.bytes, location, maxManifestBytes);
  const manifestBytes = await client.blobBytes(repository, artifact.config.digest, maxManifestBytes, `the airlock.json of ${location}`);
  const signatures = await fetchSignatures(client, repository, digest);
  const base = {
    form: 'registry' as const,
    location,
    manifestBytes,
    digest: hexOf(artifact.config.digest),
    signatures,
    close: async () => client.close(),
  };
  return {
    ...base,
    parse(): OpenedBundle {
      const manifest = parseManifest(manifestBytes, { maxBytes: maxManifestBytes });
      checkExpected(manifest, expect, location);
      const images = checkArtifact(artifact, manifest, location);
      const imagePulls = Object.fromEntries(
        Object.entries(images).map(([archive, at]) => {
          const [repo = '', d = ''] = at.split('@');
          return [archive, pullReference(registry, repo, d)];
        }),
      );
      return {
        ...base,
        manifest,
        ...(Object.keys(imagePulls).length ? { imagePulls } : {}),
        entries: (opts) => payloadEntries(client, repository, manifest, opts),
      };
    },
  };
}

/** The subscription's channel (and model name, when configured) against the signed manifest. */
function checkExpected(m: Manifest, expect: { channel: string | undefined; name: string | undefined }, location: string): void {
  if (expect.channel !== undefined && m.channel !== expect.channel)
    throw new AirlockError('REGISTRY_MISMATCH', `${location} holds a bundle of channel ${m.channel}, not ${expect.channel}`, { path: location });
  if (expect.name !== undefined && m.name !== expect.name)
    throw new AirlockError('REGISTRY_MISMATCH', `${location} holds a bundle of ${m.name}, not ${expect.name}`, { path: location });
}

/** The signature files attached to the artifact: a bounded number of manifests, of files, of bytes each. */
async function fetchSignatures(client: RegistryClient, repository: string, digest: string): Promise<SignatureInput[]> {
  const { descriptors } = await client.referrers(repository, digest, SIGNATURES_ARTIFACT);
  const out: SignatureInput[] = [];
  const seen = new Set<string>();
  for (const d of descriptors.slice(0, MAX_SIGNATURE_MANIFESTS)) {
    if (d.size > MAX_SIGNATURE_MANIFEST_BYTES) continue;
    const doc = parseManifestDocument(
      (await client.manifest(repository, d.digest, [OCI_MANIFEST], MAX_SIGNATURE_MANIFEST_BYTES)).bytes,
      `signatures ${d.digest}`,
    );
    if (doc.subject?.digest !== digest) continue; // listed under our digest, but not about it
    for (const layer of signatureLayers(doc)) {
      if (seen.has(layer.digest) || layer.size > MAX_SIGNATURE_BYTES) continue;
      if (out.length >= MAX_SIGNATURES)
        throw new AirlockError('SIGNATURE_MALFORMED', `more than ${MAX_SIGNATURES} signatures are attached to ${digest}`, { path: digest });
      seen.add(layer.digest);
      out.push({ name: `${SIGNATURES_DIR}/${layer.name}`, bytes: await client.blobBytes(repository, layer.digest, MAX_SIGNATURE_BYTES, layer.name) });
    }
  }
  return out;
}

/**
 * Small blobs (configs, tokenizers, the hundreds of little files of a NIM cache) are fetched a few ahead of
 * the one being read, each read whole into memory at once (bounded: LOOKAHEAD × SMALL_BLOB), so they do not
 * each wait a round trip. Large blobs are requested when read and streamed: a request left waiting behind a
 * long transfer would stall and be cut off.
 */
const LOOKAHEAD = 4;
const SMALL_BLOB = 1024 * 1024;

class SmallFetch {
  private started: Promise<Buffer> | undefined;

  constructor(private readonly read: () => Promise<Buffer>) {}

  start(): Promise<Buffer> {
    if (!this.started) {
      this.started = this.read();
      this.started.catch(() => undefined); // thrown to the entry's reader; one never read is dropped
    }
    return this.started;
  }
}

async function* payloadEntries(client: RegistryClient, repository: string, m: Manifest, opts: EntriesOptions = {}): AsyncGenerator<BundleEntry> {
  const entries = carriedFiles(m).map((f) => {
    const held = opts.held?.(f.sha256) === true;
    const digest = digestOf(f.sha256);
    const small =
      !held && f.size <= SMALL_BLOB
        ? new SmallFetch(async () => readCapped(await client.openBlob(repository, digest, f.size), f.size, `blob ${digest}`))
        : undefined;
    return { f, held, digest, small };
  });
  const smalls = entries.flatMap((e) => (e.small ? [e.small] : []));
  let next = 0;
  for (const e of entries) {
    const path = `${PAYLOAD_DIR}/${e.f.path}`;
    if (e.held) {
      yield { path, kind: 'file', size: e.f.size, held: true };
      continue;
    }
    if (e.small) {
      const at = smalls.indexOf(e.small, next);
      next = at + 1;
      for (const ahead of smalls.slice(at, at + 1 + LOOKAHEAD)) void ahead.start();
      yield { path, kind: 'file', size: e.f.size, body: smallBody(e.small) };
      continue;
    }
    yield { path, kind: 'file', size: e.f.size, body: blobBody(client, repository, e.digest, e.f.size) };
  }
}

async function* smallBody(fetch: SmallFetch): AsyncGenerator<Buffer> {
  yield await fetch.start();
}

/** Socket reads are 64 KiB at most; they are handed on in pieces this large (fewer writes, fewer hash calls). */
const COALESCE_BYTES = 1024 * 1024;

/** A blob's bytes, requested when first read (by the signed digest); a connection lost midway is REGISTRY_UNREACHABLE. */
function blobBody(client: RegistryClient, repository: string, digest: string, size: number): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      const res = await client.openBlob(repository, digest, size);
      try {
        let parts: Buffer[] = [];
        let held = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          parts.push(chunk);
          held += chunk.length;
          if (held >= COALESCE_BYTES) {
            yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
            parts = [];
            held = 0;
          }
        }
        if (held > 0) yield Buffer.concat(parts, held);
        if (!res.body.complete) throw new Error('the connection closed before the blob ended');
      } catch (err) {
        throw networkError(err, res.url);
      } finally {
        res.body.destroy();
      }
    },
  };
}
