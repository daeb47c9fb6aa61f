// The seam between where a bundle comes from and what is done with it. A source opens into a header (the
// manifest's exact bytes and the signatures: bounded work, nothing parsed); the caller judges the signatures,
// and only then parses the manifest and walks the entries. The file system (a folder, a tar, split parts) is
// one source; a registry is another.
import type { Failure } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import type { SourceStamp } from '../format/payload.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from '../format/layout.js';
import type { SignatureInput } from '../trust/policy.js';
import type { EntryKind } from './entry-checker.js';
import type { PartsIndex } from './parts-index.js';

/** How a bundle lies on disk (what the watcher finds). */
export type BundleForm = 'dir' | 'tar' | 'split';

/** Where an opened bundle comes from: a form on disk, an OCI registry, or a deployment in a store. */
export type SourceForm = BundleForm | 'registry' | 'store';

/** Sources whose entries can be opened by descriptor are hashed by the pool of hash workers; the rest stream. */
export function hashesInPool(form: SourceForm): boolean {
  return form === 'dir' || form === 'tar' || form === 'store';
}

export interface ReadLimits {
  /** refuse a manifest larger than this before reading it (MANIFEST_TOO_LARGE) */
  maxManifestBytes: number;
}

export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.freeze({ maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES });

/** An entry's bytes, opened and checked: a descriptor to read (at `offset` for a region of a tar). */
export interface EntryData {
  fd: number;
  offset?: number;
  /** done with it: closes the descriptor when it was the entry's own */
  release(): Promise<void>;
}

/** One entry of a bundle after its manifest and signatures, in bundle order. */
export interface BundleEntry {
  /** bundle-relative, '/'-separated */
  path: string;
  kind: EntryKind;
  size: number;
  /** open the entry's bytes for reading by descriptor (files only; may fail with WRONG_TYPE when swapped) */
  open?(): Promise<EntryData>;
  /** the file as the walk saw it (files on disk): lets a copy verified earlier stand in for reading it (Prestaged) */
  stamp?: SourceStamp;
  /** or the entry's bytes as a stream (split parts, a registry); read it fully or not at all */
  body?: AsyncIterable<Buffer>;
  /**
   * not fetched: the store already holds this content (verified when it arrived), as the `held` test passed
   * to entries() said. Only sources that fetch over the network skip content; the walk then reads nothing.
   */
  held?: boolean;
  /** what is wrong with the entry where it stands, found by the reader (a misplaced or non-regular tar entry) */
  failure?: Failure;
}

/** The parts index of a split bundle as it lies on disk: what its signatures (namespace airlock-parts) sign. */
export interface SignedPartsIndex {
  /** the index's file name, for messages */
  name: string;
  /** its exact bytes */
  bytes: Buffer;
  /** from `<base>.airlock.parts.signatures/`; none for an index packed before indexes were signed */
  signatures: SignatureInput[];
  /** where countersignatures of the index go (`airlock sign`) */
  signatureDir: string;
}

/** What a source yields before anything is parsed or trusted. */
export interface BundleHeader {
  form: SourceForm;
  /** the location as given, for messages */
  location: string;
  manifestBytes: Buffer;
  /** sha256 of the manifest bytes: the bundle's identity */
  digest: string;
  signatures: SignatureInput[];
  parts?: PartsIndex;
  /** a split bundle's index as signed: its exact bytes and the signatures beside it (docs/parts.md) */
  partsIndex?: SignedPartsIndex;
  /** where countersignatures go (`airlock sign`), when the source has such a place */
  signatureDir?: string;
  /** Parse the manifest (call once its signatures have been judged) and offer the walk over the rest. */
  parse(): OpenedBundle;
  /** release what the source holds open; the bundle is unusable afterwards */
  close(): Promise<void>;
}

export interface EntriesOptions {
  /** content the caller's store already holds: a source that fetches over the network skips it (`held`) */
  held?: (sha256: string) => boolean;
}

export interface OpenedBundle extends Omit<BundleHeader, 'parse'> {
  manifest: Manifest;
  /** Walk every entry after the manifest and signatures once, in bundle order. */
  entries(opts?: EntriesOptions): AsyncGenerator<BundleEntry>;
  /**
   * Images this source does not carry as archives (a registry holds them as images): archive path → the
   * reference the runtime pulls by digest (`HOST/REPOSITORY@sha256:…`); its ID is checked against the manifest.
   */
  imagePulls?: Readonly<Record<string, string>>;
}

export interface BundleSource {
  /** how the bundle is named in messages and records */
  readonly location: string;
  /** Read the manifest's bytes and the signatures (bounded by `limits`). The caller closes the header. */
  open(limits?: ReadLimits): Promise<BundleHeader>;
}

/** Run `fn` on a source's header, closing it however `fn` ends. */
export async function withHeader<T>(source: BundleSource, limits: ReadLimits | undefined, fn: (h: BundleHeader) => Promise<T>): Promise<T> {
  const header = await source.open(limits);
  try {
    return await fn(header);
  } finally {
    await header.close();
  }
}

/**
 * A source named in plain data: it crosses into worker threads, is kept in the daemon's records and names the
 * bundle in the API. `kind` picks the opener (bundle/sources.ts); `location` is how a person sees it.
 */
export interface SourceRef {
  kind: string;
  location: string;
  /** what the opener of `kind` needs besides the location (fs: `within`, the watched root) */
  params?: Record<string, string | number | boolean>;
}
