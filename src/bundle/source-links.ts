// Resolve the symlinks pack records against the tree it walked, the way the kernel would resolve them in the
// installed tree: one component at a time, each one before the last a directory the bundle will hold. Pure.
// The manifest's own check (format/manifest.ts) normalises targets lexically, so `x -> gone/../f` passes it
// although no `gone/` exists; pack refuses such a link instead of carrying one that dangles once installed.

/** What the walk found, by tree-relative path. */
export interface WalkedTree {
  files: ReadonlySet<string>;
  links: ReadonlyMap<string, string>;
  /** Directories the bundle will hold: ancestors of carried entries (empty folders are not carried). */
  dirs: ReadonlySet<string>;
}

/** Links followed at most, as Linux's MAXSYMLINKS. */
const MAX_HOPS = 40;

/** Why the link at `linkPath` does not end at a regular file of the tree, or undefined when it does. */
export function walkedLinkProblem(tree: WalkedTree, linkPath: string): string | undefined {
  let at = linkPath;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const target = tree.links.get(at);
    if (target === undefined) return tree.files.has(at) ? undefined : `does not resolve to a file in SOURCE (${at})`;
    const step = resolveStep(tree, at, target);
    if ('problem' in step) return at === linkPath ? step.problem : `leads through ${at}, which ${step.problem}`;
    at = step.path;
  }
  return `passes through more than ${MAX_HOPS} links`;
}

/** Resolve one link's target to the tree-relative path it names, without following the last component. */
function resolveStep(tree: WalkedTree, linkPath: string, target: string): { path: string } | { problem: string } {
  if (target.startsWith('/') || target.includes('\\') || target.includes('\0')) return { problem: 'is absolute' };
  if (target.endsWith('/')) return { problem: 'names a directory' };
  const stack = linkPath.split('/').slice(0, -1);
  const segs = target.split('/').filter((s) => s !== '' && s !== '.');
  for (const [i, seg] of segs.entries()) {
    if (seg === '..') {
      if (stack.length === 0) return { problem: 'leaves SOURCE' };
      stack.pop();
      continue;
    }
    const here = [...stack, seg].join('/');
    if (i === segs.length - 1) {
      if (tree.dirs.has(here)) return { problem: `names the directory ${here}` };
      return { path: here };
    }
    if (!tree.dirs.has(here)) return { problem: `passes through ${here}, which is not a directory the bundle holds` };
    stack.push(seg);
  }
  return { problem: 'names a directory' };
}

/** The walked tree of a list of entries (ancestors of every entry are its directories). */
export function walkedTree(entries: ReadonlyArray<{ type: 'file' | 'symlink'; path: string; target?: string }>): WalkedTree {
  const files = new Set<string>();
  const links = new Map<string, string>();
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.type === 'file') files.add(e.path);
    else links.set(e.path, e.target ?? '');
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return { files, links, dirs };
}
