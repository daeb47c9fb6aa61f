// Unpack a spooled split bundle while its parts still arrive: the tar is read as one stream over the spooled
// parts, waiting at each part not spooled yet, so every entry whose parts are all in is unpacked at once. Trust
// first: the manifest's signatures (and the index's) are judged before the manifest is parsed or any entry is
// read; then each entry is hashed against the trusted manifest as it is written to blobs/<sha256>. When the
// last part arrives only its own entries are left, and the install links the blobs (bundle/prestaged.ts).
// Runs in a worker thread of its own (unpack-worker.ts).
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { streamedEntries } from '../bundle/fs-source.js';
import { readPartsIndexFile, type PartsIndex } from '../bundle/parts-reader.js';
import { walkPayload } from '../bundle/payload-walk.js';
import { readSignatureDir } from '../bundle/signature-files.js';
import type { BundleHeader, OpenedBundle } from '../bundle/source.js';
import { readTarHead, streamedReader } from '../bundle/tar-entries.js';
import { StreamCursor } from '../bundle/tar-reader.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError } from '../errors.js';
import { manifestDigest, parseManifest } from '../format/manifest.js';
import type { Expected, WalkSink } from '../format/payload.js';
import { DirHandle } from '../safe-fs/dir-handle.js';
import { loadTrust, type TrustFiles } from '../trust/load-trust.js';
import { writeAll } from '../util/write-all.js';
import { BLOBS_DIR, partsSignaturesName, sidecarName, SPOOL_TEMP_PREFIX } from './layout.js';
import { writeUnpacked } from './unpacked.js';

export interface UnpackRequest {
  /** the spool folder */
  dir: string;
  indexName: string;
  trust: TrustFiles;
  threshold: number;
  maxManifestBytes: number;
  /** parts spooled when the unpacker starts; more are announced with PartsFeed.add */
  spooled: string[];
}

export type UnpackMessage =
  | { type: 'progress'; unpackedParts: number }
  | { type: 'done'; manifestDigest: string; bytesVerified: number; filesVerified: number }
  | { type: 'failed'; code: string; message: string };

/** The parts spooled so far; a reader waits here for the next one. */
export class PartsFeed {
  private readonly present: Set<string>;
  private waiters: Array<() => void> = [];

  constructor(initial: Iterable<string>) {
    this.present = new Set(initial);
  }

  add(name: string): void {
    this.present.add(name);
    this.wakeAll();
  }

  wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  async wait(name: string, signal: AbortSignal): Promise<void> {
    while (!this.present.has(name)) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

const CHUNK = 256 * 1024;
/**
 * Buffers read into in turn. A StreamCursor's views are valid until its next read (tar-reader.ts); a buffer is read
 * into again only RING - 1 reads later, so every view is long done with, and the worker's memory stays flat instead
 * of piling up a fresh buffer per read until the garbage collector notices (tens of MB).
 */
const RING = 4;

/** The spooled parts as one stream, each part waited for in turn; `consumed(i)` once part i is handed on whole. */
async function* spooledStream(
  dir: DirHandle,
  index: PartsIndex,
  feed: PartsFeed,
  signal: AbortSignal,
  consumed: (parts: number) => void,
): AsyncGenerator<Buffer> {
  const ring = Array.from({ length: RING }, () => Buffer.allocUnsafe(CHUNK));
  let turn = 0;
  for (const [i, part] of index.parts.entries()) {
    await feed.wait(part.name, signal);
    const { fh } = await dir.openFile(part.name);
    try {
      for (let pos = 0; pos < part.size;) {
        signal.throwIfAborted();
        const buf = ring[turn++ % RING]!;
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, part.size - pos), pos);
        if (bytesRead === 0) throw new AirlockError('PART_CORRUPT', `spooled part ${part.name} is shorter than the index lists`, { path: part.name });
        pos += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
    consumed(i + 1);
  }
}

/** blobs/<sha256>: written under a temporary name, renamed once the entry verified; content already there is not written again. */
function blobSink(blobs: string): WalkSink {
  const writers = new Map<string, { fh: fsp.FileHandle; tmp: string }>();
  const claimed = new Set<string>();
  return {
    open: async (exp: Expected) => {
      const final = path.join(blobs, exp.sha256);
      if (claimed.has(exp.sha256) || (await fsp.lstat(final).catch(() => undefined))?.size === exp.size) return () => undefined;
      claimed.add(exp.sha256);
      const tmp = path.join(blobs, `${SPOOL_TEMP_PREFIX}${exp.sha256}`);
      const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
      writers.set(exp.path, { fh, tmp });
      return (chunk: Buffer) => writeAll(fh, chunk);
    },
    verified: async (exp) => {
      const w = writers.get(exp.path);
      if (!w) return;
      writers.delete(exp.path);
      await w.fh.close();
      // Not fsynced here: the install fsyncs every blob it links before anything is committed.
      await fsp.rename(w.tmp, path.join(blobs, exp.sha256));
    },
    discarded: async (exp) => {
      const w = writers.get(exp.path);
      if (!w) return;
      writers.delete(exp.path);
      claimed.delete(exp.sha256);
      await w.fh.close();
      await fsp.rm(w.tmp, { force: true });
    },
  };
}

export async function unpackSpool(req: UnpackRequest, feed: PartsFeed, post: (m: UnpackMessage) => void, signal: AbortSignal): Promise<void> {
  const dir = await DirHandle.open(req.dir);
  try {
    const { index, bytes } = await readPartsIndexFile(dir, req.indexName);
    const sigName = partsSignaturesName(req.indexName);
    const side = sidecarName(req.indexName);
    const location = path.join(req.dir, req.indexName);
    const stream = () =>
      new StreamCursor(spooledStream(dir, index, feed, signal, (n) => post({ type: 'progress', unpackedParts: n }))[Symbol.asyncIterator]());
    const first = stream();
    let head;
    try {
      head = await readTarHead(streamedReader(first, location), location, req.maxManifestBytes);
    } finally {
      await first.close();
    }
    const signatures = [...head.signatures, ...(await readSignatureDir(dir, side, side))];
    const partsSignatures = await readSignatureDir(dir, sigName, sigName);
    const digest = manifestDigest(head.manifestBytes);
    const base = {
      form: 'split' as const,
      location,
      manifestBytes: head.manifestBytes,
      digest,
      signatures,
      parts: index,
      partsIndex: { name: req.indexName, bytes, signatures: partsSignatures, signatureDir: path.join(req.dir, sigName) },
      close: async () => undefined,
    };
    const header: BundleHeader = {
      ...base,
      parse: (): OpenedBundle => ({
        ...base,
        manifest: parseManifest(head.manifestBytes, { maxBytes: req.maxManifestBytes }),
        entries: () => streamedEntries(stream(), location, head.manifestBytes),
      }),
    };
    // Trust first: nothing past the head is read unless the signatures hold now.
    const set = await loadTrust(req.trust);
    const now = new Date();
    const trust = evaluateTrust(header, {
      allowedSigners: set.signers,
      ...(set.revoked ? { revokedKeys: set.revoked } : {}),
      threshold: req.threshold,
      now,
    });
    const bundle = passGates(header, trust, now);
    const blobs = path.join(req.dir, BLOBS_DIR);
    await fsp.mkdir(blobs, { recursive: true, mode: 0o700 });
    const walk = await walkPayload(bundle, { sink: blobSink(blobs), failFast: true, signal });
    if (!walk.failures.empty) throw walk.failures.toError();
    await writeUnpacked(req.dir, { manifestDigest: digest, bytesVerified: walk.bytesVerified, filesVerified: walk.filesVerified });
    post({ type: 'done', manifestDigest: digest, bytesVerified: walk.bytesVerified, filesVerified: walk.filesVerified });
  } finally {
    await dir.close();
  }
}
