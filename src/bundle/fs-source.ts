// The file-system bundle source: a folder, a tar, or split parts on disk. Everything is opened by descriptor
// (safe-fs/): nothing blocks on a FIFO, nothing follows a link planted in the bundle, and with `within` (a drop
// folder) no level between the drop folder and the bundle is followed either.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MANIFEST_NAME, partsSignaturesName, SIGNATURES_DIR } from '../format/layout.js';
import { manifestDigest, parseManifest } from '../format/manifest.js';
import { DirHandle } from '../safe-fs/dir-handle.js';
import { openBelow } from '../safe-fs/open-below.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import type { SignatureInput } from '../trust/policy.js';
import { walkDirBundle } from './dir-walk.js';
import { locateBundle, type BundleLocation } from './locate.js';
import { concatenatedParts, corruptPartBetween, placeParts, readPartsIndexFile } from './parts-reader.js';
import { readSignatureDir } from './signature-files.js';
import { DEFAULT_READ_LIMITS, type BundleEntry, type BundleHeader, type BundleSource, type OpenedBundle, type ReadLimits } from './source.js';
import { indexedReader, readTarHead, streamedReader, tarBodyEntries } from './tar-entries.js';
import { BLOCK as TAR_BLOCK } from './tar-header.js';
import { StreamCursor } from './tar-reader.js';

export interface FsSourceOptions {
  /** a trusted folder the bundle lies in (a drop folder or media root): every level below it is opened without following links */
  within?: string;
  /** split bundles: further folders holding parts (parts carried on several sticks); the index's own folder is looked in first */
  partsFrom?: string[];
}

export function fileSystemSource(location: string, opts: FsSourceOptions = {}): BundleSource {
  return { location, open: (limits) => openOnDisk(location, opts, limits ?? DEFAULT_READ_LIMITS) };
}

async function openOnDisk(location: string, opts: FsSourceOptions, limits: ReadLimits): Promise<BundleHeader> {
  const where = await locateBundle(location, opts.within);
  const folder = await openFolder(
    where.form === 'dir' ? where.dir : path.dirname(where.form === 'tar' ? where.tarFile : where.indexFile),
    opts.within,
    location,
  );
  try {
    if (where.form === 'dir') return await openDir(location, folder, limits);
    if (where.form === 'tar') return await openTar(location, where, folder, limits);
    return await openSplit(location, where, folder, limits, opts.partsFrom ?? []);
  } catch (err) {
    await folder.close();
    throw err;
  }
}

/** The folder, confined below `within` when given (each level opened without following a link). */
async function openFolder(dir: string, within: string | undefined, location: string): Promise<DirHandle> {
  if (within === undefined) return DirHandle.open(dir, { shownAs: '' });
  return openBelow(within, dir, '', location);
}

interface Parts {
  form: BundleHeader['form'];
  manifestBytes: Buffer;
  signatures: SignatureInput[];
  signatureDir: string;
  parts?: BundleHeader['parts'];
  partsIndex?: BundleHeader['partsIndex'];
  entries(manifestBytes: Buffer): AsyncGenerator<BundleEntry>;
  close(): Promise<void>;
}

function header(location: string, limits: ReadLimits, p: Parts): BundleHeader {
  const base = {
    form: p.form,
    location,
    manifestBytes: p.manifestBytes,
    digest: manifestDigest(p.manifestBytes),
    signatures: p.signatures,
    signatureDir: p.signatureDir,
    ...(p.parts ? { parts: p.parts } : {}),
    ...(p.partsIndex ? { partsIndex: p.partsIndex } : {}),
    close: p.close,
  };
  return {
    ...base,
    parse(): OpenedBundle {
      const manifest = parseManifest(p.manifestBytes, { maxBytes: limits.maxManifestBytes });
      return { ...base, manifest, entries: () => p.entries(p.manifestBytes) };
    },
  };
}

async function openDir(location: string, dir: DirHandle, limits: ReadLimits): Promise<BundleHeader> {
  const manifestBytes = await readSmallRegular(dir.child(MANIFEST_NAME), MANIFEST_NAME, limits.maxManifestBytes, 'MANIFEST_TOO_LARGE').catch(
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new AirlockError('MANIFEST_MISSING', `${location} holds no ${MANIFEST_NAME}`, { path: MANIFEST_NAME });
      throw err;
    },
  );
  const signatures = await readSignatureDir(dir, SIGNATURES_DIR, SIGNATURES_DIR);
  return header(location, limits, {
    form: 'dir',
    manifestBytes,
    signatures,
    signatureDir: path.join(path.resolve(location), SIGNATURES_DIR),
    entries: () => walkDirBundle(dir),
    close: () => dir.close(),
  });
}

async function openTar(
  location: string,
  where: Extract<BundleLocation, { form: 'tar' }>,
  folder: DirHandle,
  limits: ReadLimits,
): Promise<BundleHeader> {
  const { fh, stat } = await folder.openFile(path.basename(where.tarFile), location);
  try {
    const head = await readTarHead(indexedReader(fh, stat.size), location, limits.maxManifestBytes);
    const sidecar = await readSignatureDir(folder, path.basename(where.sidecarDir), path.basename(where.sidecarDir));
    const tarRegion = (e: { offset: number }) => ({ open: async () => ({ fd: fh.fd, offset: e.offset, release: async () => undefined }) });
    return header(location, limits, {
      form: 'tar',
      manifestBytes: head.manifestBytes,
      signatures: [...head.signatures, ...sidecar],
      signatureDir: where.sidecarDir,
      entries: (bytes) => tarBodyEntries(indexedReader(fh, stat.size), location, bytes, tarRegion),
      close: async () => {
        await fh.close();
        await folder.close();
      },
    });
  } catch (err) {
    await fh.close();
    throw err;
  }
}

async function openSplit(
  location: string,
  where: Extract<BundleLocation, { form: 'split' }>,
  folder: DirHandle,
  limits: ReadLimits,
  partsFrom: string[],
): Promise<BundleHeader> {
  const indexName = path.basename(where.indexFile);
  const { index, bytes } = await readPartsIndexFile(folder, indexName);
  const sigName = partsSignaturesName(indexName);
  const partsSignatures = await readSignatureDir(folder, sigName, sigName);
  // Further folders are the user's word, like the bundle's own location: opened as given.
  const others: DirHandle[] = [];
  try {
    for (const dir of partsFrom) others.push(await DirHandle.open(dir, { shownAs: dir }));
    const placed = await placeParts([folder, ...others], index);
    if (!placed.failures.empty) throw placed.failures.toError();
    const stream = () => new StreamCursor(concatenatedParts(placed.dirs, index)[Symbol.asyncIterator]());
    // A tar that breaks inside a part is first put down to the part, if it differs from the index.
    const blamePart = async (err: unknown, cursor: StreamCursor): Promise<never> => {
      if (err instanceof AirlockError && !err.code.startsWith('PART_')) {
        const corrupt = await corruptPartBetween(placed.dirs, index, Math.max(0, cursor.position - TAR_BLOCK), cursor.position);
        if (corrupt) throw corrupt;
      }
      throw err;
    };
    const first = stream();
    let head;
    try {
      head = await readTarHead(streamedReader(first, location), location, limits.maxManifestBytes).catch((err: unknown) => blamePart(err, first));
    } finally {
      await first.close();
    }
    const sidecar = await readSignatureDir(folder, path.basename(where.sidecarDir), path.basename(where.sidecarDir));
    return header(location, limits, {
      form: 'split',
      manifestBytes: head.manifestBytes,
      signatures: [...head.signatures, ...sidecar],
      signatureDir: where.sidecarDir,
      parts: index,
      partsIndex: { name: indexName, bytes, signatures: partsSignatures, signatureDir: path.join(path.dirname(where.indexFile), sigName) },
      entries: (manifestBytes) => partsBlamed(stream(), location, manifestBytes, blamePart),
      close: async () => {
        for (const d of others) await d.close();
        await folder.close();
      },
    });
  } catch (err) {
    for (const d of others) await d.close();
    throw err;
  }
}

async function* partsBlamed(
  cursor: StreamCursor,
  origin: string,
  manifestBytes: Buffer,
  blame: (err: unknown, cursor: StreamCursor) => Promise<never>,
): AsyncGenerator<BundleEntry> {
  try {
    yield* streamedEntries(cursor, origin, manifestBytes);
  } catch (err) {
    await blame(err, cursor);
  }
}

/** The entries after the head of a tar read as one stream (split parts), each body read from the stream in turn. */
export async function* streamedEntries(cursor: StreamCursor, origin: string, manifestBytes: Buffer): AsyncGenerator<BundleEntry> {
  try {
    yield* tarBodyEntries(streamedReader(cursor, origin), origin, manifestBytes, (e) => ({ body: cursor.data(e.size, origin) }));
  } finally {
    await cursor.close();
  }
}
