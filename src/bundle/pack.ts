// `airlock pack`: turn a model tree (+ image archives) into a signed bundle in dir, tar or split form.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, open } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import {
  MANIFEST_NAME,
  MANIFEST_SCHEMA_VERSION,
  PARTS_INDEX_SUFFIX,
  partsSignaturesName,
  SIGNATURES_DIR,
  SIGNATURE_SUFFIX,
  TAR_SUFFIX,
  payloadPath,
} from '../format/layout.js';
import { isFile, manifestDigest, manifestTotals, serializeManifest, type Manifest, type ManifestTotals } from '../format/manifest.js';
import { HashPool } from '../hash/hash-pool.js';
import { silentProgress, type Progress } from '../util/progress.js';
import { buildPartsIndex, serializePartsIndex } from './parts-index.js';
import type { PackForm, PackOptions } from './pack-options.js';
import { loadInventory, type ContentIndex } from './pack-inventory.js';
import { checkLocations } from './pack-locations.js';
import { loadSigners, type LoadSignersOptions, type ManifestSigner } from './pack-sign.js';
import { scanSource } from './source-scan.js';
import type { SourceTree } from './source-tree.js';
import {
  closeImageArchives,
  openImageArchives,
  writeDurably,
  writeImages,
  writeManifestFiles,
  writePayload,
  type OpenedImageArchive,
  type SignatureFile,
} from './write-dir.js';
import { fileSink, splitSink, type TarSink } from './write-parts.js';
import { writeTar, type TarEntry } from './write-tar.js';

export interface PackResult {
  id: string;
  manifestDigest: string;
  form: PackForm;
  /** The bundle directory, the `.airlock.tar`, or the `.airlock.parts.json` index. */
  location: string;
  /** Every path written: the location first, then the parts of a split bundle, then its index signatures folder. */
  outputs: string[];
  totals: ManifestTotals & { signatures: number };
}

export interface PackHooks {
  progress?: Progress;
  signers?: LoadSignersOptions;
}

export async function packBundle(opts: PackOptions, hooks: PackHooks = {}): Promise<PackResult> {
  const progress = hooks.progress ?? silentProgress;
  await checkLocations(opts);
  // Keys and inventory first: a wrong passphrase should not cost an hour of hashing.
  const sources = { keyFiles: opts.signKeys, agentKeys: opts.signAgentKeys ?? [] };
  const signers = await loadSigners(sources, { ...hooks.signers, ...(opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {}) });
  const held = opts.against ? await loadInventory(opts.against) : undefined;
  // Everything pack reads is opened up front and read by descriptor from then on: the image archives, and
  // SOURCE as a tree of folder handles (its files are opened through them as the workers need them).
  const images = await openImageArchives(opts.images);
  let tree: SourceTree | undefined;
  try {
    tree = await scanSource(opts.source);
    const input: PackInput = { tree, images, signers, held, progress };
    return await (opts.form === 'dir' ? packDir(opts, input) : packTar(opts, input));
  } finally {
    await tree?.close();
    await closeImageArchives(images);
  }
}

/** What pack reads from, opened and checked before any output is written. */
interface PackInput {
  tree: SourceTree;
  images: OpenedImageArchive[];
  signers: ManifestSigner[];
  held: ContentIndex | undefined;
  progress: Progress;
}

interface Staged {
  manifest: Manifest;
  manifestBytes: Buffer;
  signatures: SignatureFile[];
}

/** Payload and images into `root` (hash + copy in one read of the source), then the manifest and its signatures. */
async function stage(root: string, opts: PackOptions, input: PackInput): Promise<Staged> {
  const { tree, signers, held, progress } = input;
  const sourceBytes = tree.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  const imageBytes = input.images.reduce((n, a) => n + a.opened.stat.size, 0);
  progress.phase('hash + copy', sourceBytes + imageBytes);
  const pool = new HashPool();
  let files;
  try {
    files = await writePayload(root, tree, { pool, progress, ...(held ? { held } : {}) });
  } finally {
    await pool.close();
  }
  const images = await writeImages(root, input.images, progress);
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA_VERSION,
    id: opts.id,
    name: opts.name,
    kind: opts.kind,
    channel: opts.channel,
    sequence: opts.sequence,
    created: isoSeconds(opts.created),
    ...(opts.expires ? { expires: isoSeconds(opts.expires) } : {}),
    ...(opts.servedModelName !== undefined ? { servedModelName: opts.servedModelName } : {}),
    profiles: opts.profiles,
    images,
    files,
  };
  const manifestBytes = serializeManifest(manifest);
  const signatures: SignatureFile[] = [];
  for (const s of signers) signatures.push({ label: s.label, text: await s.sign(manifestBytes) }); // one touch at a time
  return { manifest, manifestBytes, signatures };
}

async function packDir(opts: PackOptions, input: PackInput): Promise<PackResult> {
  const { progress } = input;
  await mkdir(path.dirname(opts.out), { recursive: true });
  const work = path.join(path.dirname(opts.out), `.${path.basename(opts.out)}.partial-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  try {
    const staged = await stage(work, opts, input);
    await writeManifestFiles(work, staged.manifestBytes, staged.signatures);
    // rename(2) replaces an empty directory atomically, so DEST appears complete or not at all.
    await rename(work, opts.out);
    await syncDir(path.dirname(opts.out));
    progress.done();
    return result(opts, staged, opts.out, [opts.out]);
  } catch (err) {
    progress.done();
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

// Tar form: the manifest must lead the tar but is known only after every byte is hashed. We stage the
// dir form next to DEST (one read of the source, hash + copy together), then stream the tar from the
// staged copy, deleting each staged file once it is in: the source is read once at the cost of writing
// the payload twice, and disk use peaks near one bundle plus one file rather than two bundles.
async function packTar(opts: PackOptions, input: PackInput): Promise<PackResult> {
  const { progress } = input;
  await mkdir(opts.out, { recursive: true });
  const work = path.join(opts.out, `.${opts.id}.partial-${randomBytes(4).toString('hex')}`);
  const root = path.join(work, 'bundle');
  await mkdir(root, { recursive: true });
  let sink: TarSink | undefined;
  // What was moved into DEST so far: removed again on failure (and nothing else there, however it is named).
  const moved: string[] = [];
  const move = async (name: string) => {
    const target = await moveOut(work, opts.out, name);
    moved.push(target);
    return target;
  };
  try {
    const staged = await stage(root, opts, input);
    const tarName = `${opts.id}${TAR_SUFFIX}`;
    const tarEntries = tarLayout(root, staged);
    progress.phase(
      'writing tar',
      tarEntries.reduce((n, e) => n + e.size, 0),
    );
    sink = opts.form === 'split' ? splitSink(work, tarName, opts.splitSize ?? 0) : fileSink(path.join(work, tarName));
    await writeTar(tarEntries, sink, { mtime: opts.created, progress });
    const written = await sink.close();
    sink = undefined;
    const outputs: string[] = [];
    if (opts.form === 'split') {
      for (const part of written.parts) outputs.push(await move(part.name));
      const indexName = `${opts.id}${PARTS_INDEX_SUFFIX}`;
      const indexBytes = serializePartsIndex(buildPartsIndex(tarName, written, written.parts));
      await writeDurably(path.join(work, indexName), indexBytes);
      // Its signatures before the index itself, which goes last: a watcher that sees the index can count on
      // every part being complete and on its signatures being there to judge it by.
      const signed = await writePartsSignatures(work, partsSignaturesName(indexName), indexBytes, input.signers);
      if (signed) outputs.push(await move(signed));
      outputs.unshift(await move(indexName));
    } else {
      outputs.push(await move(tarName));
    }
    await syncDir(opts.out);
    progress.done();
    return result(opts, staged, outputs[0] ?? opts.out, outputs);
  } catch (err) {
    progress.done();
    await sink?.abort();
    // Parts already moved out are removed too: a half bundle must not look like a bundle in transit.
    await Promise.all(moved.map((p) => rm(p, { force: true, recursive: true })));
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `<base>.airlock.parts.signatures/<label>.sig`: every signer of the bundle over the index's exact bytes. */
async function writePartsSignatures(work: string, dirName: string, indexBytes: Buffer, signers: ManifestSigner[]): Promise<string | undefined> {
  if (signers.length === 0) return undefined;
  await mkdir(path.join(work, dirName));
  for (const s of signers) {
    const text = await s.signPartsIndex(indexBytes); // one touch at a time
    await writeDurably(path.join(work, dirName, `${s.label}${SIGNATURE_SUFFIX}`), Buffer.from(text, 'utf8'));
  }
  await syncDir(path.join(work, dirName));
  return dirName;
}

/** Entry order fixed by the format: airlock.json, signatures/*.sig, images/*, payload/* (carried files only). */
function tarLayout(root: string, staged: Staged): TarEntry[] {
  const out: TarEntry[] = [{ path: MANIFEST_NAME, size: staged.manifestBytes.length, mode: 0o644, source: staged.manifestBytes }];
  for (const s of [...staged.signatures].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))) {
    const bytes = Buffer.from(s.text, 'utf8');
    out.push({ path: `${SIGNATURES_DIR}/${s.label}${SIGNATURE_SUFFIX}`, size: bytes.length, mode: 0o644, source: bytes });
  }
  for (const img of staged.manifest.images) {
    out.push({ path: img.archive, size: img.size, mode: 0o644, source: { file: path.join(root, img.archive), removeAfter: true } });
  }
  for (const f of staged.manifest.files) {
    if (!isFile(f) || f.omitted) continue;
    const p = payloadPath(f.path);
    out.push({ path: p, size: f.size, mode: f.mode === '0755' ? 0o755 : 0o644, source: { file: path.join(root, p), removeAfter: true } });
  }
  return out;
}

async function moveOut(work: string, out: string, name: string): Promise<string> {
  const target = path.join(out, name);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    throw new AirlockError('USAGE', `${target} already exists`, { path: target });
  await rename(path.join(work, name), target);
  return target;
}

async function syncDir(dir: string): Promise<void> {
  // Best effort: makes the rename durable; some file systems refuse fsync on a directory.
  const fh = await open(dir, 'r').catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

function result(opts: PackOptions, staged: Staged, location: string, outputs: string[]): PackResult {
  return {
    id: opts.id,
    manifestDigest: manifestDigest(staged.manifestBytes),
    form: opts.form,
    location,
    outputs,
    totals: { ...manifestTotals(staged.manifest), signatures: staged.signatures.length },
  };
}
