// Disk space: decide before writing anything whether a bundle fits, counting only content the store lacks.
import { promises as fsp } from 'node:fs';
import { AirlockError } from '../errors.js';
import { humanBytes } from '../util/human.js';

export interface SpaceNeed {
  bytes: number;
  inodes: number;
}

export interface FreeSpace {
  bytes: number;
  inodes: number;
  blockSize: number;
}

export interface SpacePlan {
  /** sizes of blobs the store lacks (each distinct sha256 once) */
  newBlobs: number[];
  /** sizes of files copied rather than linked (executables) */
  copies: number[];
  dirs: number;
  symlinks: number;
  linkedFiles: number;
  /** bytes of the state file, written again at the commit */
  stateBytes: number;
}

/** What an install will write, rounded up to whole blocks. Pure. */
export function spaceNeeded(plan: SpacePlan, blockSize: number): SpaceNeed {
  const blocks = (n: number) => Math.ceil(n / blockSize) * blockSize;
  let bytes = 0;
  for (const s of plan.newBlobs) bytes += blocks(s);
  for (const s of plan.copies) bytes += blocks(s);
  // a block per folder, and the old and new state file side by side during the atomic replace
  bytes += (plan.dirs + 2) * blockSize + 2 * blocks(plan.stateBytes + 4096);
  const inodes = plan.newBlobs.length + plan.copies.length + plan.dirs + plan.symlinks + 8;
  return { bytes, inodes };
}

export async function freeSpace(dir: string): Promise<FreeSpace> {
  const s = await fsp.statfs(dir);
  return { bytes: s.bavail * s.bsize, inodes: s.ffree, blockSize: s.bsize };
}

/** INSUFFICIENT_SPACE naming both numbers, or nothing when the install fits. */
export function checkSpace(need: SpaceNeed, free: FreeSpace, store: string): void {
  if (need.bytes > free.bytes) {
    throw new AirlockError(
      'INSUFFICIENT_SPACE',
      `store ${store} needs ${need.bytes} bytes (${humanBytes(need.bytes)}) for this bundle but its file system has ${free.bytes} bytes (${humanBytes(free.bytes)}) free`,
      { path: store },
    );
  }
  // file systems without inode accounting report 0 free inodes
  if (free.inodes > 0 && need.inodes > free.inodes) {
    throw new AirlockError(
      'INSUFFICIENT_SPACE',
      `store ${store} needs ${need.inodes} inodes for this bundle but its file system has ${free.inodes} free`,
      { path: store },
    );
  }
}
