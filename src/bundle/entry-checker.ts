// Pure bookkeeping for a payload walk: what each bundle entry should be, and what is still missing.
import type { Failure } from '../errors.js';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR } from '../format/layout.js';
import { isSymlink, type Manifest } from '../format/manifest.js';
import { expectedEntries, type Expected } from '../format/payload.js';
import { PathTree } from '../format/path-tree.js';

export type { Expected } from '../format/payload.js';
import { digestsEqual } from '../hash/digest.js';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo' | 'socket' | 'other';

/** One entry met while walking a bundle (a tar header, or a file found in a directory bundle). */
export interface SeenEntry {
  /** bundle-relative path, e.g. payload/ngc/hub/x or images/nim.tar */
  path: string;
  kind: EntryKind;
  size: number;
}

export type Decision = { action: 'check'; expected: Expected } | { action: 'skip' } | { action: 'reject'; failure: Failure };

const TOP_DIRS = new Set([PAYLOAD_DIR, IMAGES_DIR, SIGNATURES_DIR]);

export class EntryChecker {
  private readonly expected = new Map<string, Expected>();
  private readonly symlinkPaths = new Set<string>();
  /** every bundle path the manifest implies, so a folder entry is allowed exactly when it holds listed entries */
  private readonly tree = new PathTree<true>();
  private readonly seen = new Set<string>();

  /** `pulled`: image archives the source does not carry (a registry: the runtime pulls those images by digest). */
  constructor(manifest: Manifest, pulled: ReadonlySet<string> = new Set()) {
    for (const e of manifest.files) {
      const bundlePath = `${PAYLOAD_DIR}/${e.path}`;
      this.tree.insert(bundlePath, true);
      if (isSymlink(e)) this.symlinkPaths.add(bundlePath);
    }
    for (const img of manifest.images) if (!pulled.has(img.archive)) this.tree.insert(img.archive, true);
    for (const exp of expectedEntries(manifest)) if (!(exp.role === 'image' && pulled.has(exp.path))) this.expected.set(exp.path, exp);
  }

  private isAllowedDir(p: string): boolean {
    return TOP_DIRS.has(p) || this.tree.find(p)?.hasChildren === true;
  }

  /** An entry the reader already found fault with: it counts as seen, so it is not also reported missing. */
  markSeen(p: string): void {
    this.seen.add(p);
  }

  /** Every entry the manifest lists with bytes in the bundle (payload files carried, image archives), in manifest order. */
  listed(): Expected[] {
    return [...this.expected.values()];
  }

  /** Total bytes the walk should hash. */
  get bytesExpected(): number {
    let n = 0;
    for (const e of this.expected.values()) n += e.size;
    return n;
  }

  /** What to do with an entry, decided from its header alone, before any byte of it is read. */
  classify(entry: SeenEntry): Decision {
    const p = entry.path;
    if (p === MANIFEST_NAME) return { action: 'skip' };
    if (entry.kind === 'directory') {
      if (this.isAllowedDir(p)) return { action: 'skip' };
      if (this.expected.has(p)) return reject('WRONG_TYPE', p, `${p} is a directory where the manifest lists a file`);
      return reject('UNLISTED_FILE', p, `${p} is a directory the manifest does not list`);
    }
    if (this.isAllowedDir(p)) return reject('WRONG_TYPE', p, `${p} is a ${entry.kind} where the manifest implies a folder`);
    if (p.startsWith(`${SIGNATURES_DIR}/`)) return { action: 'skip' };
    const exp = this.expected.get(p);
    if (this.symlinkPaths.has(p))
      return reject('WRONG_TYPE', p, `${p} is a symlink in the manifest; bundles never carry symlinks (the installer creates them)`);
    if (!exp) return reject('UNLISTED_FILE', p, `${p} is not listed in the manifest`);
    if (this.seen.has(p)) return reject('DUPLICATE_PATH', p, `${p} appears twice in the bundle`);
    this.seen.add(p);
    if (entry.kind !== 'file') return reject('WRONG_TYPE', p, `${p} is a ${entry.kind} where the manifest lists a regular file`);
    if (entry.size !== exp.size) {
      const how = entry.size > exp.size ? 'longer' : 'shorter';
      return reject('SIZE_MISMATCH', p, `${p} is ${entry.size} bytes, ${how} than the ${exp.size} the manifest lists`);
    }
    return { action: 'check', expected: exp };
  }

  /** Compare what was read with what was expected. */
  verdict(exp: Expected, tally: { size: number; sha256: string; overflow: boolean }): Failure | undefined {
    if (tally.overflow || tally.size !== exp.size) {
      return {
        code: 'SIZE_MISMATCH',
        path: exp.path,
        message: `${exp.path} changed size while being read (${tally.overflow ? 'more' : tally.size} bytes, manifest lists ${exp.size})`,
      };
    }
    if (!digestsEqual(tally.sha256, exp.sha256)) {
      return { code: 'HASH_MISMATCH', path: exp.path, message: `${exp.path} has sha256 ${tally.sha256}, manifest lists ${exp.sha256}` };
    }
    return undefined;
  }

  /** Failures for every listed entry never seen. Call once the walk is over. */
  *missing(): Generator<Failure> {
    for (const exp of this.expected.values()) {
      if (!this.seen.has(exp.path))
        yield { code: 'MISSING_FILE', path: exp.path, message: `${exp.path} is listed in the manifest but missing from the bundle` };
    }
  }
}

function reject(code: Failure['code'], path: string, message: string): Decision {
  return { action: 'reject', failure: { code, path, message } };
}
