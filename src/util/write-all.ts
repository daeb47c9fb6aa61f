// FileHandle.write may write fewer bytes than asked (a signal, a nearly full disk); loop until all are down.
import type { FileHandle } from 'node:fs/promises';

/** Write all of `data` at the file's current position, or at `position` when given. */
export async function writeAll(fh: FileHandle, data: Buffer, position?: number): Promise<void> {
  for (let off = 0; off < data.length;) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position === undefined ? null : position + off);
    off += bytesWritten;
  }
}
