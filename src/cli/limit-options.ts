// --max-manifest-size SIZE, shared by the commands that read bundles (verify, install, inspect, sign).
import type { ReadLimits } from '../bundle/source.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from '../format/layout.js';
import { parseByteSize } from '../util/byte-size.js';
import type { OptionSpec } from './command.js';

export const LIMIT_OPTIONS = [
  {
    flag: '--max-manifest-size',
    value: 'SIZE',
    complete: 'none',
    description: 'refuse a larger airlock.json before reading it (default 16M; e.g. 64M)',
    group: 'Limits',
  },
] as const satisfies readonly OptionSpec[];

export function limitsFromOptions(value: string | undefined): ReadLimits {
  return { maxManifestBytes: value === undefined ? DEFAULT_MAX_MANIFEST_BYTES : parseByteSize(value, '--max-manifest-size', 'USAGE') };
}
