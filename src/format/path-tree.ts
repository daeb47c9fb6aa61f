// A trie of '/'-separated paths. Every insert and lookup costs time linear in the path's length, so checks over
// a manifest of untrusted paths stay linear in its size (issue 11: building every ancestor of every path as a
// string made pathological paths cost minutes of CPU).

export class PathNode<V> {
  /** the value stored for the path ending here, if this path is an entry */
  value: V | undefined;
  /** undefined until the first child: most nodes (files) have none */
  children: Map<string, PathNode<V>> | undefined;

  constructor(
    readonly name: string,
    readonly parent: PathNode<V> | undefined,
  ) {}

  child(name: string): PathNode<V> | undefined {
    return this.children?.get(name);
  }

  get hasChildren(): boolean {
    return this.children !== undefined && this.children.size > 0;
  }

  /** The path from the root (for messages); costs its length. */
  get path(): string {
    const names: string[] = [];
    for (let n: PathNode<V> | undefined = this; n?.parent; n = n.parent) names.push(n.name);
    return names.reverse().join('/');
  }
}

export type InsertOutcome<V> =
  | { kind: 'inserted'; node: PathNode<V> }
  /** the very path is already an entry */
  | { kind: 'duplicate'; node: PathNode<V> }
  /** an ancestor of the path is an entry (a file cannot hold children) */
  | { kind: 'below-entry'; entry: PathNode<V> }
  /** the path is already a directory of other entries */
  | { kind: 'is-directory'; node: PathNode<V> };

export class PathTree<V> {
  readonly root = new PathNode<V>('', undefined);

  /** Insert `path` (already checked by pathProblem) holding `value`; a conflicting path is reported, not inserted. */
  insert(path: string, value: V): InsertOutcome<V> {
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = path.indexOf('/', start);
      const name = slash === -1 ? path.slice(start) : path.slice(start, slash);
      let next = node.child(name);
      if (slash === -1) {
        if (next?.value !== undefined) return { kind: 'duplicate', node: next };
        if (next?.hasChildren) return { kind: 'is-directory', node: next };
        if (!next) next = this.add(node, name);
        next.value = value;
        return { kind: 'inserted', node: next };
      }
      if (next?.value !== undefined) return { kind: 'below-entry', entry: next };
      node = next ?? this.add(node, name);
      start = slash + 1;
    }
  }

  /** The node for `path` ('' is the root), or undefined. */
  find(path: string): PathNode<V> | undefined {
    if (path === '') return this.root;
    let node: PathNode<V> | undefined = this.root;
    let start = 0;
    while (node) {
      const slash = path.indexOf('/', start);
      if (slash === -1) return node.child(path.slice(start));
      node = node.child(path.slice(start, slash));
      start = slash + 1;
    }
    return undefined;
  }

  /** Every directory node (a node with children), parents before children, as paths. */
  directories(): string[] {
    const out: string[] = [];
    const stack: Array<[PathNode<V>, string]> = [];
    for (const [name, c] of this.root.children ?? []) stack.push([c, name]);
    while (stack.length > 0) {
      const [node, p] = stack.pop()!;
      if (!node.hasChildren) continue;
      out.push(p);
      for (const [name, c] of node.children!) stack.push([c, `${p}/${name}`]);
    }
    return out;
  }

  private add(parent: PathNode<V>, name: string): PathNode<V> {
    const node = new PathNode<V>(name, parent);
    (parent.children ??= new Map()).set(name, node);
    return node;
  }
}

/** Every folder the entries at `paths` imply, parents before children: linear in the paths' total length. */
export function impliedFolders(paths: Iterable<string>): string[] {
  const tree = new PathTree<true>();
  for (const p of paths) tree.insert(p, true);
  return tree.directories();
}
