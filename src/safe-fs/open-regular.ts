// Open a file from untrusted ground (a drop folder, a stick, a bundle, a pack source) so that the open itself
// can never block and never follows a link: O_NONBLOCK (a FIFO opens at once instead of waiting for a writer),
// O_NOFOLLOW (a symlink swapped in is refused), O_NOCTTY; then fstat on the descriptor decides, so a file
// swapped for a FIFO or device between a walk and the open is caught on what was actually opened.
import { constants, promises as fsp, type Stats } from 'node:fs';
import { AirlockError } from '../errors.js';

export const UNTRUSTED_READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY;

export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface OpenedRegular {
  fh: fsp.FileHandle;
  stat: Stats;
}

/** What a non-regular file is, in a person's words (for messages). */
export function describeType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Open `file` for reading if, and only if, it is a regular file (and, with `expect`, the very file a walk saw).
 * `shownAs` names it in errors (bundle-relative where there is one). Refusals are WRONG_TYPE with that path.
 */
export async function openRegular(file: string, shownAs: string, expect?: FileIdentity): Promise<OpenedRegular> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, UNTRUSTED_READ_FLAGS);
  } catch (err) {
    throw openFailure(err, shownAs);
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new AirlockError('WRONG_TYPE', `${shownAs} is ${describeType(stat)}, not a regular file`, { path: shownAs });
    if (expect && (stat.dev !== expect.dev || stat.ino !== expect.ino)) {
      throw new AirlockError('WRONG_TYPE', `${shownAs} was replaced while being read (not the file that was listed)`, { path: shownAs });
    }
    return { fh, stat };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Read a small regular file whole, refusing anything over `limit` bytes before reading it. */
export async function readSmallRegular(file: string, shownAs: string, limit: number, tooLarge: AirlockError['code'] = 'WRONG_TYPE'): Promise<Buffer> {
  const { fh, stat } = await openRegular(file, shownAs);
  try {
    if (stat.size > limit) throw new AirlockError(tooLarge, `${shownAs} is ${stat.size} bytes, over the ${limit}-byte limit`, { path: shownAs });
    // One byte more than the limit is asked for, so a file that grows after the fstat is still caught.
    const buf = Buffer.allocUnsafe(Math.min(stat.size, limit) + 1);
    let off = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
      if (off > limit) throw new AirlockError(tooLarge, `${shownAs} grew past the ${limit}-byte limit while being read`, { path: shownAs });
      if (off === buf.length) break;
    }
    return Buffer.from(buf.subarray(0, off));
  } finally {
    await fh.close();
  }
}

/** Turn an open(2) failure on untrusted ground into an airlock error naming the file. */
export function openFailure(err: unknown, shownAs: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ELOOP') return new AirlockError('WRONG_TYPE', `${shownAs} is a symlink`, { path: shownAs, cause: err });
  // O_NONBLOCK on a FIFO without a writer still opens for reading; ENXIO comes from sockets and some devices.
  if (code === 'ENXIO' || code === 'EOPNOTSUPP')
    return new AirlockError('WRONG_TYPE', `${shownAs} is not a regular file`, { path: shownAs, cause: err });
  return err;
}
