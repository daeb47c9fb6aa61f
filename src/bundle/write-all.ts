// FileHandle.write may write fewer bytes than asked (a signal, a nearly full disk); loop until all are down.
import type { FileHandle } from 'node:fs/promises';

export async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await fh.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}
