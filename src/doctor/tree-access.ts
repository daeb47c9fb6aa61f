// Can the container user read a deployment tree? Mode bits against a uid (and gid when given), as the kernel decides.
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface ContainerUser {
  uid: number;
  gid?: number;
}

/** "1000" or "1000:1000"; undefined for anything else. */
export function parseContainerUser(user: string): ContainerUser | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return undefined;
  return { uid: Number(m[1]), ...(m[2] !== undefined ? { gid: Number(m[2]) } : {}) };
}

/** Files need read; directories read and search. Only one class of bits applies: owner, else group, else other. */
export function canRead(st: Pick<Stats, 'mode' | 'uid' | 'gid'> & { isDirectory(): boolean }, user: ContainerUser): boolean {
  if (user.uid === 0) return true;
  const need = st.isDirectory() ? 0o5 : 0o4;
  const shift = st.uid === user.uid ? 6 : user.gid !== undefined && st.gid === user.gid ? 3 : 0;
  return ((st.mode >> shift) & need) === need;
}

export interface TreeAccess {
  exists: boolean;
  unreadable: string[];
  unreadableCount: number;
}

/** Walk `root` (symlinks are not followed: they point inside the tree) and list what `user` cannot read. */
export async function treeAccess(root: string, user: ContainerUser, keep = 5): Promise<TreeAccess> {
  const rootSt = await lstat(root).catch(() => undefined);
  if (!rootSt?.isDirectory()) return { exists: false, unreadable: [], unreadableCount: 0 };
  const result: TreeAccess = { exists: true, unreadable: [], unreadableCount: 0 };
  const note = (p: string) => {
    result.unreadableCount++;
    if (result.unreadable.length < keep) result.unreadable.push(p);
  };
  const walk = async (dir: string, st: Stats): Promise<void> => {
    if (!canRead(st, user)) note(path.relative(root, dir) || '.');
    const names = await readdir(dir).catch(() => undefined);
    if (names === undefined) return note(path.relative(root, dir) || '.');
    for (const name of names) {
      const p = path.join(dir, name);
      const s = await lstat(p);
      if (s.isDirectory()) await walk(p, s);
      else if (!s.isSymbolicLink() && !canRead(s, user)) note(path.relative(root, p));
    }
  };
  await walk(root, rootSt);
  return result;
}
