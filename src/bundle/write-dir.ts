// Write the directory form of a bundle: payload/ (hash + copy in one read), images/, then airlock.json and signatures/.
import { mkdir, stat, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR, SIGNATURE_SUFFIX } from '../format/layout.js';
import type { FileEntry, ImageEntry, ManifestEntry } from '../format/manifest.js';
import type { FileJobResult } from '../hash/file-job.js';
import type { HashPool } from '../hash/hash-pool.js';
import type { Progress } from '../util/progress.js';
import { chooseImage, ImageArchiveInspector } from './image-archive.js';
import { hashCopy } from './pack-copy.js';
import type { ContentIndex } from './pack-inventory.js';
import type { SourceEntry, SourceFile } from './source-scan.js';

export interface WritePayloadOptions {
  pool: HashPool;
  /** Delta bundles: content the receiver holds is listed `omitted` and not copied. */
  held?: ContentIndex;
  progress?: Progress;
}

/**
 * Copy every source file into `<root>/payload/` while hashing it (one read, on the pool's workers),
 * and return the manifest entries in source order. Symlinks are never written: the manifest carries them.
 */
export async function writePayload(root: string, entries: SourceEntry[], opts: WritePayloadOptions): Promise<ManifestEntry[]> {
  const payload = path.join(root, PAYLOAD_DIR);
  const dirs = new Set<string>();
  for (const e of entries) if (e.type === 'file') dirs.add(path.dirname(path.join(payload, e.path)));
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true });

  const settled = await Promise.allSettled(
    entries.map((e): Promise<ManifestEntry> => (e.type === 'symlink' ? Promise.resolve({ path: e.path, type: 'symlink', target: e.target }) : packFile(payload, e, opts))),
  );
  // Wait for every job before failing so no worker is still writing when the caller cleans up.
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ManifestEntry>).value);
}

async function packFile(payload: string, file: SourceFile, opts: WritePayloadOptions): Promise<FileEntry> {
  const onBytes = (n: number) => opts.progress?.add(n);
  const mode = file.executable ? 0o755 : 0o644;
  const copyTo = path.join(payload, file.path);
  let tally: FileJobResult;
  let omitted = false;
  if (opts.held?.mayHold(file.size)) {
    // Only a size the receiver holds can be left out: hash first, copy (a second read) only if new.
    tally = checkTally(file, await opts.pool.run({ file: file.absolute, limit: file.size }, onBytes));
    omitted = opts.held.holds(tally.sha256, tally.size);
    if (!omitted) tally = checkTally(file, await opts.pool.run({ file: file.absolute, limit: file.size, copyTo, copyMode: mode, fsync: true }));
  } else {
    tally = checkTally(file, await opts.pool.run({ file: file.absolute, limit: file.size, copyTo, copyMode: mode, fsync: true }, onBytes));
  }
  return {
    path: file.path,
    size: tally.size,
    sha256: tally.sha256,
    ...(file.executable ? { mode: '0755' as const } : {}),
    ...(omitted ? { omitted: true as const } : {}),
  };
}

function checkTally(file: SourceFile, tally: FileJobResult): FileJobResult {
  if (tally.overflow || tally.size !== file.size) {
    throw new AirlockError('SOURCE_INVALID', `${file.path} changed size while being packed (scanned at ${file.size} bytes)`, { path: file.path });
  }
  return tally;
}

export interface ImageArchiveSpec {
  file: string;
  ref?: string;
  /** Bundle path, `images/<name>`. */
  archive: string;
}

/** Copy each docker save archive into `<root>/images/`, reading it once to hash it and learn its image id and tags. */
export async function writeImages(root: string, specs: ImageArchiveSpec[], progress?: Progress): Promise<ImageEntry[]> {
  if (specs.length === 0) return [];
  await mkdir(path.join(root, IMAGES_DIR), { recursive: true });
  const out: ImageEntry[] = [];
  for (const spec of specs) {
    const st = await stat(spec.file).catch((err: unknown) => {
      throw new AirlockError('USAGE', `cannot read image archive ${spec.file}: ${(err as Error).message}`, { path: spec.file, cause: err });
    });
    if (!st.isFile()) throw new AirlockError('USAGE', `image archive ${spec.file} is not a regular file`, { path: spec.file });
    const inspector = new ImageArchiveInspector(spec.file);
    const copied = await hashCopy(spec.file, {
      expectedSize: st.size,
      dest: path.join(root, spec.archive),
      onChunk: (c) => inspector.write(c),
      label: spec.file,
      ...(progress ? { progress } : {}),
    });
    const chosen = chooseImage(await inspector.finish(), spec.ref, spec.file);
    out.push({ ref: chosen.ref, id: chosen.id, archive: spec.archive, size: copied.size, sha256: copied.sha256 });
  }
  return out;
}

export interface SignatureFile {
  label: string;
  text: string;
}

/** airlock.json and signatures/ go in last: a directory without a manifest is visibly unfinished. */
export async function writeManifestFiles(root: string, manifestBytes: Buffer, signatures: SignatureFile[]): Promise<void> {
  if (signatures.length > 0) {
    await mkdir(path.join(root, SIGNATURES_DIR), { recursive: true });
    for (const s of signatures) await writeDurably(path.join(root, SIGNATURES_DIR, `${s.label}${SIGNATURE_SUFFIX}`), Buffer.from(s.text, 'utf8'));
  }
  await writeDurably(path.join(root, MANIFEST_NAME), manifestBytes);
}

export async function writeDurably(file: string, data: Buffer): Promise<void> {
  await writeFile(file, data, { flag: 'wx', mode: 0o644 });
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
