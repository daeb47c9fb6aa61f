// Open a bundle in any form: read the manifest and signatures (and nothing else) up front,
// and offer one streaming walk over every other entry.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MANIFEST_NAME, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, MAX_SIGNATURES, SIGNATURES_DIR, SIGNATURE_SUFFIX } from '../format/layout.js';
import { manifestDigest, parseManifest, type Manifest } from '../format/manifest.js';
import type { SignatureInput } from '../trust/policy.js';
import { walkDirBundle, type BundleEntry } from './dir-walk.js';
import { locateBundle, type BundleLocation } from './locate.js';
import { concatenatedParts, partsPresenceFailures, readPartsIndex, type PartsIndex } from './parts-reader.js';
import { readSignatureDir, readSmallFile } from './signature-files.js';
import { tarEntries } from './tar-entries.js';
import { indexTar } from './tar-index.js';

export type { BundleEntry } from './dir-walk.js';
export type BundleForm = BundleLocation['form'];

export interface OpenedBundle {
  form: BundleForm;
  /** the location as given, for messages */
  location: string;
  where: BundleLocation;
  manifestBytes: Buffer;
  manifest: Manifest;
  /** sha256 of the manifest bytes: the bundle's identity */
  digest: string;
  signatures: SignatureInput[];
  parts?: PartsIndex;
  /** Walk every entry after the manifest and signatures once, in bundle order. */
  entries(): AsyncGenerator<BundleEntry>;
}

export async function openBundle(location: string): Promise<OpenedBundle> {
  const where = await locateBundle(location);
  if (where.form === 'dir') return openDirBundle(location, where);
  let parts: PartsIndex | undefined;
  let stream: () => Readable;
  if (where.form === 'split') {
    const index = await readPartsIndex(where.indexFile);
    const failures = await partsPresenceFailures(where.partsDir, index);
    if (failures.length > 0) throw AirlockError.fromFailures(failures);
    parts = index;
    stream = () => concatenatedParts(where.partsDir, index);
  } else {
    stream = () => createReadStream(where.tarFile, { highWaterMark: 1024 * 1024 });
  }
  const header = await readTarHeader(stream(), location);
  const sidecar = await readSignatureDir(where.sidecarDir, path.basename(where.sidecarDir));
  const manifest = parseManifest(header.manifestBytes);
  return {
    form: where.form,
    location,
    where,
    manifestBytes: header.manifestBytes,
    manifest,
    digest: manifestDigest(header.manifestBytes),
    signatures: [...header.signatures, ...sidecar],
    ...(parts ? { parts } : {}),
    entries: () => tarBodyEntries(where.form === 'tar' ? indexedEntries(where.tarFile, location) : tarEntries(stream(), location), location, header.manifestBytes),
  };
}

// A single tar is walked by its headers; workers then read each file's bytes at their offset.
// Split parts stream, since an entry may span two parts.
async function* indexedEntries(tarFile: string, origin: string): AsyncGenerator<BundleEntry & { body: AsyncIterable<Buffer> }> {
  for await (const e of indexTar(tarFile, origin)) {
    const body = { [Symbol.asyncIterator]: () => rangeStream(tarFile, e.offset, e.size)[Symbol.asyncIterator]() as AsyncIterator<Buffer> };
    yield { path: e.path, kind: e.kind, size: e.size, body, file: tarFile, offset: e.offset };
  }
}

function rangeStream(file: string, start: number, size: number): Readable {
  if (size === 0) return Readable.from([]);
  return createReadStream(file, { start, end: start + size - 1, highWaterMark: 1024 * 1024 });
}

async function openDirBundle(location: string, where: Extract<BundleLocation, { form: 'dir' }>): Promise<OpenedBundle> {
  const manifestBytes = await readSmallFile(path.join(where.dir, MANIFEST_NAME), MAX_MANIFEST_BYTES, MANIFEST_NAME, 'MANIFEST_TOO_LARGE');
  const manifest = parseManifest(manifestBytes);
  const signatures = await readSignatureDir(path.join(where.dir, SIGNATURES_DIR), SIGNATURES_DIR);
  return {
    form: 'dir',
    location,
    where,
    manifestBytes,
    manifest,
    digest: manifestDigest(manifestBytes),
    signatures,
    entries: () => walkDirBundle(where.dir),
  };
}

interface TarHeader {
  manifestBytes: Buffer;
  signatures: SignatureInput[];
}

// The tar form puts airlock.json first and the signatures right after it, so every expected
// size and hash is known before the first payload byte; reading stops at the first other entry.
async function readTarHeader(source: Readable, origin: string): Promise<TarHeader> {
  let manifestBytes: Buffer | undefined;
  const signatures: SignatureInput[] = [];
  for await (const entry of tarEntries(source, origin)) {
    if (manifestBytes === undefined) {
      if (entry.path !== MANIFEST_NAME || entry.kind !== 'file') {
        throw new AirlockError('MANIFEST_NOT_FIRST', `${origin}: the first tar entry is ${entry.path}, not ${MANIFEST_NAME}`, { path: entry.path });
      }
      if (entry.size > MAX_MANIFEST_BYTES) {
        throw new AirlockError('MANIFEST_TOO_LARGE', `${MANIFEST_NAME} is ${entry.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`, { path: MANIFEST_NAME });
      }
      manifestBytes = await collect(entry.body);
      continue;
    }
    if (entry.kind === 'directory' && entry.path === SIGNATURES_DIR) continue;
    if (!isSignatureEntry(entry.path)) return { manifestBytes, signatures };
    if (entry.kind !== 'file') throw new AirlockError('WRONG_TYPE', `${origin}: ${entry.path} is not a regular file`, { path: entry.path });
    if (entry.size > MAX_SIGNATURE_BYTES) throw new AirlockError('SIGNATURE_MALFORMED', `${entry.path} is ${entry.size} bytes, too large for a signature`, { path: entry.path });
    if (signatures.length >= MAX_SIGNATURES) throw new AirlockError('SIGNATURE_MALFORMED', `${origin} holds more than ${MAX_SIGNATURES} signatures`, { path: entry.path });
    signatures.push({ name: entry.path, bytes: await collect(entry.body) });
  }
  if (manifestBytes === undefined) throw new AirlockError('MANIFEST_MISSING', `${origin} holds no ${MANIFEST_NAME}`, { path: origin });
  return { manifestBytes, signatures };
}

function isSignatureEntry(p: string): boolean {
  return p.startsWith(`${SIGNATURES_DIR}/`) && p.endsWith(SIGNATURE_SUFFIX) && !p.slice(SIGNATURES_DIR.length + 1).includes('/');
}

/** Entries after the header; the manifest is read again and must be byte-identical to the one verified. */
async function* tarBodyEntries(all: AsyncIterable<BundleEntry & { body: AsyncIterable<Buffer> }>, origin: string, manifestBytes: Buffer): AsyncGenerator<BundleEntry> {
  let first = true;
  let inHeader = true;
  for await (const entry of all) {
    if (first) {
      first = false;
      const again = entry.path === MANIFEST_NAME && entry.size === manifestBytes.length ? await collect(entry.body) : undefined;
      if (!again || !again.equals(manifestBytes)) {
        throw new AirlockError('MANIFEST_CHANGED', `${origin} changed while being read: ${MANIFEST_NAME} differs from the one verified`, { path: MANIFEST_NAME });
      }
      continue;
    }
    if (inHeader && ((entry.kind === 'directory' && entry.path === SIGNATURES_DIR) || isSignatureEntry(entry.path))) continue;
    inHeader = false;
    if (entry.path === MANIFEST_NAME || isSignatureEntry(entry.path)) {
      // A second manifest or a late signature would let a tar say different things to different readers.
      yield { path: entry.path, kind: 'other', size: entry.size, body: entry.body };
      continue;
    }
    const at = entry.file === undefined || entry.offset === undefined ? {} : { file: entry.file, offset: entry.offset };
    yield { path: entry.path, kind: entry.kind, size: entry.size, body: entry.body, ...at };
  }
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}
