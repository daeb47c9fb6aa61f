// Write the directory form of a bundle: payload/ (hash + copy in one read), images/, then airlock.json and signatures/.
import { mkdir, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR, SIGNATURE_SUFFIX } from '../format/layout.js';
import type { FileEntry, ImageEntry, ManifestEntry } from '../format/manifest.js';
import type { FileJobResult } from '../hash/file-job.js';
import type { HashPool } from '../hash/hash-pool.js';
import { openRegular, type OpenedRegular } from '../safe-fs/open-regular.js';
import { mapLimited } from '../util/map-limited.js';
import type { Progress } from '../util/progress.js';
import { chooseImage, ImageArchiveInspector } from './image-archive.js';
import { hashCopy } from './pack-copy.js';
import type { ContentIndex } from './pack-inventory.js';
import type { SourceFile } from './source-scan.js';
import type { SourceTree } from './source-tree.js';

export interface WritePayloadOptions {
  pool: HashPool;
  /** Delta bundles: content the receiver holds is listed `omitted` and not copied. */
  held?: ContentIndex;
  progress?: Progress;
}

/**
 * Copy every source file into `<root>/payload/` while hashing it (one read, on the pool's workers), and return
 * the manifest entries in source order. Each file is opened here, through the walked tree's folder handles and
 * checked to be the file the walk saw; the workers read that descriptor, never a path. Symlinks are never
 * written: the manifest carries them.
 */
export async function writePayload(root: string, tree: SourceTree, opts: WritePayloadOptions): Promise<ManifestEntry[]> {
  const payload = path.join(root, PAYLOAD_DIR);
  const dirs = new Set<string>();
  for (const e of tree.entries) if (e.type === 'file') dirs.add(path.dirname(path.join(payload, e.path)));
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true });
  // Twice the workers: the next file is opened while the pool is busy, and descriptors stay few.
  return mapLimited(tree.entries, opts.pool.size * 2, (e): Promise<ManifestEntry> =>
    e.type === 'symlink' ? Promise.resolve({ path: e.path, type: 'symlink', target: e.target }) : packFile(payload, tree, e, opts),
  );
}

async function packFile(payload: string, tree: SourceTree, file: SourceFile, opts: WritePayloadOptions): Promise<FileEntry> {
  const { fh } = await tree.openFile(file);
  try {
    return await hashFile(payload, fh.fd, file, opts);
  } finally {
    await fh.close();
  }
}

async function hashFile(payload: string, fd: number, file: SourceFile, opts: WritePayloadOptions): Promise<FileEntry> {
  const onBytes = (n: number) => opts.progress?.add(n);
  const mode = file.executable ? 0o755 : 0o644;
  const copyTo = path.join(payload, file.path);
  const read = { file: file.path, fd, limit: file.size };
  let tally: FileJobResult;
  let omitted = false;
  if (opts.held?.mayHold(file.size)) {
    // Only a size the receiver holds can be left out: hash first, copy (a second read) only if new.
    tally = checkTally(file, await opts.pool.run(read, onBytes));
    omitted = opts.held.holds(tally.sha256, tally.size);
    if (!omitted) tally = checkTally(file, await opts.pool.run({ ...read, copyTo, copyMode: mode, fsync: true }));
  } else {
    tally = checkTally(file, await opts.pool.run({ ...read, copyTo, copyMode: mode, fsync: true }, onBytes));
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

/** An image archive opened once, before any work (see openImageArchives in pack.ts). */
export interface OpenedImageArchive {
  spec: ImageArchiveSpec;
  opened: OpenedRegular;
}

/**
 * Open every --image-archive before any work: never blocking (a FIFO) and never following a link (a path the
 * operator typed that has been swapped for a symlink), each checked on its descriptor to be a regular file.
 * The descriptor is what is read later, so no swap after this point matters. Refusals are USAGE naming the path.
 */
export async function openImageArchives(specs: ImageArchiveSpec[]): Promise<OpenedImageArchive[]> {
  const out: OpenedImageArchive[] = [];
  try {
    for (const spec of specs) {
      const opened = await openRegular(spec.file, `image archive ${spec.file}`).catch((err: unknown) => {
        const why = err instanceof AirlockError ? err.message : `cannot read image archive ${spec.file}: ${(err as Error).message}`;
        throw new AirlockError('USAGE', why, { path: spec.file, cause: err });
      });
      out.push({ spec, opened });
    }
    return out;
  } catch (err) {
    await closeImageArchives(out);
    throw err;
  }
}

export async function closeImageArchives(archives: OpenedImageArchive[]): Promise<void> {
  await Promise.all(archives.map((a) => a.opened.fh.close().catch(() => undefined)));
}

/** Copy each docker save archive into `<root>/images/`, reading it once to hash it and learn its image id and tags. */
export async function writeImages(root: string, archives: OpenedImageArchive[], progress?: Progress): Promise<ImageEntry[]> {
  if (archives.length === 0) return [];
  await mkdir(path.join(root, IMAGES_DIR), { recursive: true });
  const out: ImageEntry[] = [];
  for (const { spec, opened } of archives) {
    const inspector = new ImageArchiveInspector(spec.file);
    const copied = await hashCopy(opened.fh, {
      expectedSize: opened.stat.size,
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
