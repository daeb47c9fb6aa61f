// The manifest (airlock.json): typed entity, parsing and semantic checks. Pure.
import { createHash } from 'node:crypto';
import { AirlockError, FailureList, type Failure } from '../errors.js';
import { parseJsonDocument } from '../util/json-document.js';
import { schemaProblems } from '../util/schemas.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from './layout.js';
import { clip, pathProblem } from './paths.js';
import { PathTree, type PathNode } from './path-tree.js';
import { parseRfc3339 } from './time.js';

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

/**
 * The manifest fields that tell a runtime how to serve the model. Picked once (runtimeHints) and carried whole
 * from the manifest to the container: store record → deployment info → runtime target. A new hint is a
 * manifest field (schema/manifest.schema.json, also under $defs/runtimeHints, and Manifest) plus its name here;
 * the container spec (runtime/container-spec.ts) reads them.
 */
export const RUNTIME_HINT_KEYS = ['profiles', 'servedModelName', 'modelPath'] as const;

export type RuntimeHints = Pick<Manifest, (typeof RUNTIME_HINT_KEYS)[number]>;

export function runtimeHints(m: Manifest): RuntimeHints {
  const hints: Partial<Record<keyof RuntimeHints, unknown>> = {};
  for (const key of RUNTIME_HINT_KEYS) if (m[key] !== undefined) hints[key] = m[key];
  return hints as RuntimeHints;
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

export interface ParseOptions {
  /** names the document in messages */
  origin?: string;
  /** refuse larger documents before parsing (default DEFAULT_MAX_MANIFEST_BYTES) */
  maxBytes?: number;
}

/**
 * Turn raw bytes into a Manifest, or throw MANIFEST_TOO_LARGE / MANIFEST_INVALID / BAD_PATH / DUPLICATE_PATH /
 * BAD_SYMLINK. Every step costs time linear in the size, and the failures kept are capped (FailureList): callers
 * parse untrusted bytes only after their signatures verified, but a signed manifest must not be able to hurt either.
 */
export function parseManifest(bytes: Buffer, opts: ParseOptions = {}): Manifest {
  const origin = opts.origin ?? 'airlock.json';
  const max = opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  // The first schema problem only: collecting all of them for a hostile document once took gigabytes.
  const doc = parseJsonDocument<unknown>(bytes, {
    schema: 'manifest',
    origin,
    code: 'MANIFEST_INVALID',
    maxBytes: max,
    tooLargeCode: 'MANIFEST_TOO_LARGE',
  });
  const manifest = doc as Manifest;
  const failures = manifestProblems(manifest);
  if (!failures.empty) throw failures.toError();
  return manifest;
}

/** Semantic checks the schema cannot express: safe paths, no duplicates, symlinks that land on a listed file, real times. */
export function manifestProblems(m: Manifest): FailureList {
  const failures = new FailureList();
  const tree = new PathTree<ManifestEntry>();
  for (const e of m.files) {
    const problem = pathProblem(e.path);
    if (problem) {
      failures.push({ code: 'BAD_PATH', path: clip(e.path), message: `manifest path ${JSON.stringify(clip(e.path))} ${problem}` });
      continue;
    }
    const put = tree.insert(e.path, e);
    if (put.kind === 'duplicate') failures.push({ code: 'DUPLICATE_PATH', path: e.path, message: `manifest lists ${e.path} more than once` });
    else if (put.kind === 'below-entry') {
      const dir = put.entry.path;
      failures.push({ code: 'DUPLICATE_PATH', path: dir, message: `${dir} is listed as an entry and also as a directory of ${e.path}` });
    } else if (put.kind === 'is-directory')
      failures.push({ code: 'DUPLICATE_PATH', path: e.path, message: `${e.path} is listed as an entry and also as a directory of other entries` });
  }
  const links = new SymlinkResolver(tree);
  for (const e of m.files) {
    if (!isSymlink(e) || tree.find(e.path)?.value !== e) continue;
    const problem = links.problem(e);
    if (problem) failures.push({ code: 'BAD_SYMLINK', path: e.path, message: `symlink ${e.path} -> ${clip(e.target)} ${problem}` });
  }
  const archives = new Set<string>();
  for (const [i, img] of m.images.entries()) {
    const problem = pathProblem(img.archive);
    if (problem)
      failures.push({ code: 'BAD_PATH', path: `images/${i}/archive`, message: `image archive ${JSON.stringify(clip(img.archive))} ${problem}` });
    else if (archives.has(img.archive))
      failures.push({ code: 'DUPLICATE_PATH', path: img.archive, message: `image archive ${img.archive} listed twice` });
    archives.add(img.archive);
  }
  const profileIds = new Set<string>();
  for (const p of m.profiles) {
    if (profileIds.has(p.id)) failures.push({ code: 'MANIFEST_INVALID', path: 'profiles', message: `profile ${p.id} listed twice` });
    profileIds.add(p.id);
  }
  const created = parseRfc3339(m.created);
  if (created === undefined)
    failures.push({ code: 'MANIFEST_INVALID', path: 'created', message: `created ${JSON.stringify(clip(m.created))} is not a valid RFC 3339 time` });
  if (m.expires !== undefined) {
    const expires = parseRfc3339(m.expires);
    if (expires === undefined)
      failures.push({
        code: 'MANIFEST_INVALID',
        path: 'expires',
        message: `expires ${JSON.stringify(clip(m.expires))} is not a valid RFC 3339 time`,
      });
    else if (created !== undefined && expires <= created)
      failures.push({ code: 'MANIFEST_INVALID', path: 'expires', message: 'expires is not after created' });
  }
  return failures;
}

/** The longest chain of links followed, as Linux's SYMLOOP_MAX. */
const MAX_LINK_HOPS = 40;

/**
 * Resolves each symlink against the manifest's own tree, the way the kernel will resolve it once installed:
 * '..' goes up a folder, a regular file or a link in the middle of a path is an error (a link may only name a
 * file), and a link must end on a listed regular file. Results are memoised, so the cost is linear in the
 * total length of the targets.
 */
class SymlinkResolver {
  private readonly done = new Map<SymlinkEntry, string | undefined>();

  constructor(private readonly tree: PathTree<ManifestEntry>) {}

  /** Why `link` is unacceptable, or undefined when it resolves to a listed regular file. */
  problem(link: SymlinkEntry, depth = 0): string | undefined {
    if (this.done.has(link)) return this.done.get(link);
    if (depth >= MAX_LINK_HOPS) return `leads through more than ${MAX_LINK_HOPS} links`;
    this.done.set(link, 'is part of a symlink loop');
    const answer = this.resolve(link, depth);
    this.done.set(link, answer);
    return answer;
  }

  private resolve(link: SymlinkEntry, depth: number): string | undefined {
    const t = link.target;
    if (t.startsWith('/') || t.includes('\\') || t.includes('\0')) return 'is absolute or not a relative path';
    let dir: PathNode<ManifestEntry> | undefined = this.tree.find(link.path)?.parent;
    const names = t.split('/');
    for (const [i, name] of names.entries()) {
      const last = i === names.length - 1;
      if (name === '' || name === '.') {
        if (last) return 'resolves to a directory, not a file';
        continue;
      }
      if (name === '..') {
        if (!dir?.parent) return 'leaves the tree';
        dir = dir.parent;
        if (last) return 'resolves to a directory, not a file';
        continue;
      }
      const node: PathNode<ManifestEntry> | undefined = dir?.child(name);
      if (!node) return `does not resolve to a listed file (${clip(name)} is missing)`;
      const entry = node.value;
      if (!last) {
        if (entry && isSymlink(entry)) return `leads through the symlink ${entry.path}; a link may only name a file`;
        if (entry) return `leads through the file ${entry.path}`;
        dir = node;
        continue;
      }
      if (!entry) return 'resolves to a directory, not a file';
      if (!isSymlink(entry)) return undefined;
      const further = this.problem(entry, depth + 1);
      return further === undefined ? undefined : `leads to ${entry.path}, which ${further}`;
    }
    return 'resolves to nothing';
  }
}

/** The manifest's expiry, checked against `now` (a separate step so verification stays a pure function of time). */
export function expiryFailure(m: Manifest, now: Date): Failure | undefined {
  if (m.expires === undefined) return undefined;
  const expires = parseRfc3339(m.expires);
  // parseManifest refuses an unreadable time; a manifest built in code still must not read as "never expires".
  if (expires === undefined || expires <= now.getTime()) {
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
  if (!failures.empty) throw failures.toError();
  return Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
}
