// The manifest (airlock.json): typed entity, parsing and semantic checks. Pure.
import { createHash } from 'node:crypto';
import { AirlockError, type Failure } from '../errors.js';
import { schemaProblems } from '../util/schemas.js';
import { MAX_MANIFEST_BYTES } from './layout.js';
import { ancestors, pathProblem, resolveLinkTarget } from './paths.js';

export type BundleKind = 'nim-cache' | 'model-store' | 'model-dir' | 'files';

/** The kinds a container runtime serves; `files` (e.g. airlock's own release) is installed into the store, never run. */
export type DeployableKind = Exclude<BundleKind, 'files'>;

export function isDeployableKind(kind: string | undefined): kind is DeployableKind {
  return kind === 'nim-cache' || kind === 'model-store' || kind === 'model-dir';
}

export interface Profile {
  id: string;
  name?: string;
  tags?: Record<string, string>;
}

export interface ImageEntry {
  ref: string;
  id: string;
  archive: string;
  size: number;
  sha256: string;
}

export interface FileEntry {
  path: string;
  type?: 'file';
  size: number;
  sha256: string;
  mode?: '0644' | '0755';
  omitted?: true;
}

export interface SymlinkEntry {
  path: string;
  type: 'symlink';
  target: string;
}

export type ManifestEntry = FileEntry | SymlinkEntry;

export interface Manifest {
  schema: 'airlock.bundle/v1';
  id: string;
  name: string;
  kind: BundleKind;
  channel: string;
  sequence: number;
  created: string;
  expires?: string;
  description?: string;
  servedModelName?: string;
  modelPath?: string;
  profiles: Profile[];
  images: ImageEntry[];
  files: ManifestEntry[];
}

export function isSymlink(e: ManifestEntry): e is SymlinkEntry {
  return e.type === 'symlink';
}

export function isFile(e: ManifestEntry): e is FileEntry {
  return e.type !== 'symlink';
}

/** sha256 of the exact manifest bytes: the bundle's identity for idempotence and audit. */
export function manifestDigest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ManifestTotals {
  files: number;
  symlinks: number;
  /** bytes of payload files listed (including omitted ones) */
  payloadBytes: number;
  /** bytes the bundle itself carries: payload not omitted, plus image archives */
  carriedBytes: number;
  omittedFiles: number;
  omittedBytes: number;
  imageBytes: number;
}

export function manifestTotals(m: Manifest): ManifestTotals {
  const t: ManifestTotals = { files: 0, symlinks: 0, payloadBytes: 0, carriedBytes: 0, omittedFiles: 0, omittedBytes: 0, imageBytes: 0 };
  for (const e of m.files) {
    if (isSymlink(e)) {
      t.symlinks++;
      continue;
    }
    t.files++;
    t.payloadBytes += e.size;
    if (e.omitted) {
      t.omittedFiles++;
      t.omittedBytes += e.size;
    } else t.carriedBytes += e.size;
  }
  for (const i of m.images) t.imageBytes += i.size;
  t.carriedBytes += t.imageBytes;
  return t;
}

/**
 * Turn raw bytes into a Manifest, or throw MANIFEST_TOO_LARGE / MANIFEST_INVALID / BAD_PATH /
 * DUPLICATE_PATH / BAD_SYMLINK with every problem found.
 */
export function parseManifest(bytes: Buffer, origin = 'airlock.json'): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new AirlockError('MANIFEST_TOO_LARGE', `${origin} is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`, { path: origin });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AirlockError('MANIFEST_INVALID', `${origin} is not JSON: ${(err as Error).message}`, { path: origin, cause: err });
  }
  const problems = schemaProblems('manifest', doc);
  if (problems.length > 0) {
    const failures: Failure[] = problems.map((p) => ({ code: 'MANIFEST_INVALID', path: p.field, message: `${origin}: ${p.field} ${p.message}` }));
    throw AirlockError.fromFailures(failures);
  }
  const manifest = doc as Manifest;
  const failures = manifestProblems(manifest);
  if (failures.length > 0) throw AirlockError.fromFailures(failures);
  return manifest;
}

/** Semantic checks the schema cannot express: safe paths, no duplicates, symlinks that stay inside the tree. */
export function manifestProblems(m: Manifest): Failure[] {
  const failures: Failure[] = [];
  const byPath = new Map<string, ManifestEntry>();
  for (const e of m.files) {
    const problem = pathProblem(e.path);
    if (problem) {
      failures.push({ code: 'BAD_PATH', path: e.path, message: `manifest path ${JSON.stringify(e.path)} ${problem}` });
      continue;
    }
    if (byPath.has(e.path)) {
      failures.push({ code: 'DUPLICATE_PATH', path: e.path, message: `manifest lists ${e.path} more than once` });
      continue;
    }
    byPath.set(e.path, e);
  }
  for (const p of byPath.keys()) {
    for (const dir of ancestors(p)) {
      if (byPath.has(dir)) failures.push({ code: 'DUPLICATE_PATH', path: dir, message: `${dir} is listed as an entry and also as a directory of ${p}` });
    }
  }
  for (const e of byPath.values()) {
    if (isSymlink(e)) {
      const problem = symlinkProblem(e, byPath);
      if (problem) failures.push({ code: 'BAD_SYMLINK', path: e.path, message: `symlink ${e.path} -> ${e.target} ${problem}` });
    }
  }
  const archives = new Set<string>();
  for (const [i, img] of m.images.entries()) {
    const problem = pathProblem(img.archive);
    if (problem) failures.push({ code: 'BAD_PATH', path: `images/${i}/archive`, message: `image archive ${JSON.stringify(img.archive)} ${problem}` });
    else if (archives.has(img.archive)) failures.push({ code: 'DUPLICATE_PATH', path: img.archive, message: `image archive ${img.archive} listed twice` });
    archives.add(img.archive);
  }
  const profileIds = new Set<string>();
  for (const p of m.profiles) {
    if (profileIds.has(p.id)) failures.push({ code: 'MANIFEST_INVALID', path: 'profiles', message: `profile ${p.id} listed twice` });
    profileIds.add(p.id);
  }
  if (m.expires !== undefined && Date.parse(m.expires) <= Date.parse(m.created)) {
    failures.push({ code: 'MANIFEST_INVALID', path: 'expires', message: 'expires is not after created' });
  }
  return failures;
}

// A symlink must be relative and, following at most 40 links, land on a listed regular file.
function symlinkProblem(link: SymlinkEntry, byPath: Map<string, ManifestEntry>): string | undefined {
  let current: ManifestEntry = link;
  for (let hops = 0; hops < 40; hops++) {
    if (!isSymlink(current)) return undefined;
    const resolved = resolveLinkTarget(current.path, current.target);
    if (resolved === undefined) return current === link ? 'is absolute or leaves the tree' : `leads through ${current.path}, which leaves the tree`;
    const next = byPath.get(resolved);
    if (!next) return `does not resolve to a listed file (${resolved})`;
    current = next;
  }
  return 'is part of a symlink loop';
}

/** The manifest's expiry, checked against `now` (a separate step so verification stays a pure function of time). */
export function expiryFailure(m: Manifest, now: Date): Failure | undefined {
  if (m.expires === undefined) return undefined;
  if (Date.parse(m.expires) <= now.getTime()) {
    return { code: 'EXPIRED', path: 'expires', message: `bundle ${m.id} expired at ${m.expires}` };
  }
  return undefined;
}

/** Serialise a manifest the way airlock writes it: stable key order, two-space indent, trailing newline. */
export function serializeManifest(m: Manifest): Buffer {
  const problems = schemaProblems('manifest', m);
  if (problems.length > 0) {
    throw new AirlockError('MANIFEST_INVALID', `refusing to write an invalid manifest: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  }
  const failures = manifestProblems(m);
  if (failures.length > 0) throw AirlockError.fromFailures(failures);
  return Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
}
