// `--split-size` values: bytes, K/M/G/T (1024-based), decimals (`1.5G`), or `fat32`. Pure.
import { AirlockError } from '../errors.js';

/** The largest file FAT32 can hold (4 GiB − 1). */
export const FAT32_MAX_FILE = 4294967295;
/** Parts smaller than one tar block would make a silly number of files. */
export const MIN_SPLIT_SIZE = 512;

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parse a split size into bytes; throws USAGE for anything unclear. */
export function parseSplitSize(text: string): number {
  const value = text.trim();
  if (value.toLowerCase() === 'fat32') return FAT32_MAX_FILE;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value);
  const unit = m ? UNITS[(m[2] ?? '').toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new AirlockError('USAGE', `--split-size ${JSON.stringify(text)} is not a size (examples: 512M, 4G, 1.5G, fat32)`, { path: '--split-size' });
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < MIN_SPLIT_SIZE) {
    throw new AirlockError('USAGE', `--split-size must be at least ${MIN_SPLIT_SIZE} bytes, got ${JSON.stringify(text)}`, { path: '--split-size' });
  }
  return bytes;
}
