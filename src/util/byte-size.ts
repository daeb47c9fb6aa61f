// Sizes like `docker run --shm-size`: binary multiples, so 16g is 16 GiB (Docker's units.RAMInBytes).
// Used for the runtime's shmSize and for size options on the command line.
import { AirlockError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i;

/** '16g' -> 17179869184. Throws `code` (CONFIG_INVALID for config keys, USAGE for options) for anything Docker would not accept. */
export function parseByteSize(text: string, field = 'shmSize', code: 'CONFIG_INVALID' | 'USAGE' = 'CONFIG_INVALID'): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new AirlockError(code, `${field} ${JSON.stringify(text)} is not a size like 16g or 512m`, { path: field });
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new AirlockError(code, `${field} ${JSON.stringify(text)} is out of range`, { path: field });
  }
  return bytes;
}
