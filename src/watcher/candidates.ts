// Which paths under a watched root matter, and which bundle each belongs to. Pure: names only.
import path from 'node:path';
import { MANIFEST_NAME, PARTS_INDEX_SUFFIX, TAR_SUFFIX } from '../format/layout.js';

import type { BundleForm, SourceRef } from '../bundle/source.js';

export type { BundleForm } from '../bundle/source.js';

/** A place that holds (or is receiving) a bundle. `location` is what openBundle/installBundle take. */
export interface Candidate {
  form: BundleForm;
  /** dir: the bundle folder; tar: the .airlock.tar; split: the .airlock.parts.json index */
  location: string;
  /** the watched root it was found under */
  root: string;
  /** found under a removable-media root (read-only evidence: never removed) */
  media: boolean;
  /**
   * How to open it, when it is not a drop on disk: an arrival source other than the watcher names its bundles
   * by a SourceRef of its own kind (bundle/sources.ts opens it). Absent: a path on disk, read confined below `root`.
   */
  source?: SourceRef;
}

/**
 * rsync writes `.NAME.XXXXXX` temp files and, with --partial-dir, hidden folders such as `.rsync-partial`;
 * editors and file managers leave other dot files. Anything with a hidden segment below the root is ignored.
 */
export function isIgnoredPath(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  if (rel === '') return false;
  if (rel.startsWith('..') || path.isAbsolute(rel)) return true;
  return rel.split(path.sep).some((seg) => seg.startsWith('.'));
}

/** The candidate a file event names directly: an airlock.json (its folder), a tar, or a parts index. */
export function candidateForFile(root: string, file: string, media: boolean): Candidate | undefined {
  if (isIgnoredPath(root, file)) return undefined;
  const base = path.basename(file);
  if (base === MANIFEST_NAME) {
    const dir = path.dirname(file);
    // airlock.json directly in a watched root would make the root itself a bundle; roots are containers.
    if (dir === root) return undefined;
    return { form: 'dir', location: dir, root, media };
  }
  if (base.endsWith(TAR_SUFFIX) && base.length > TAR_SUFFIX.length) return { form: 'tar', location: file, root, media };
  if (base.endsWith(PARTS_INDEX_SUFFIX) && base.length > PARTS_INDEX_SUFFIX.length) return { form: 'split', location: file, root, media };
  return undefined;
}

/** True when `p` is `location` or lies inside it (a file event belonging to a directory bundle). */
export function isWithin(location: string, p: string): boolean {
  return p === location || p.startsWith(location + path.sep);
}

/** For a split bundle's part `X.airlock.tar.NNN`, the index path `X.airlock.parts.json` it belongs to. */
export function indexForPart(file: string): string | undefined {
  const m = /^(.+)\.airlock\.tar\.\d{3,}$/.exec(path.basename(file));
  return m ? path.join(path.dirname(file), `${m[1]}${PARTS_INDEX_SUFFIX}`) : undefined;
}
