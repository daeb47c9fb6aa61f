// Reading a trust-side file (allowed_signers, revoked keys): bounded, and never blocking on a FIFO or device.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AirlockError } from '../errors.js';

export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

/** The file's bytes; TRUST_INVALID naming it when it cannot be read, is not a regular file or is too large. */
export async function readTrustFile(file: string, what: string): Promise<Buffer> {
  const fail = (why: string, cause?: unknown) =>
    new AirlockError('TRUST_INVALID', `${what} file ${file}: ${why}`, { path: file, ...(cause ? { cause } : {}) });
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below then refuses it.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fail(`cannot be read: ${(err as Error).message}`, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail('is not a regular file');
    if (info.size > MAX_TRUST_FILE_BYTES) throw fail(`is larger than ${MAX_TRUST_FILE_BYTES} bytes`);
    const buf = Buffer.alloc(info.size);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw fail(`cannot be read: ${(err as Error).message}`, err);
  } finally {
    await handle.close();
  }
}
