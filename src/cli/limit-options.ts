// --max-manifest-size SIZE, shared by the commands that read bundles (verify, install, inspect, sign).
import type { ReadLimits } from '../bundle/source.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from '../format/layout.js';
import { parseByteSize } from '../util/byte-size.js';

export const LIMIT_OPTIONS = { 'max-manifest-size': { type: 'string' } } as const;

export const LIMIT_USAGE = `  --max-manifest-size SIZE  refuse a larger airlock.json before reading it (default 16M; e.g. 64M)`;

export function limitsFromOptions(value: string | undefined): ReadLimits {
  return { maxManifestBytes: value === undefined ? DEFAULT_MAX_MANIFEST_BYTES : parseByteSize(value, '--max-manifest-size', 'USAGE') };
}
