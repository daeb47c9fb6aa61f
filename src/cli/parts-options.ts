// --parts-from DIR (repeatable), shared by verify and install: a split bundle's parts carried on several sticks.
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import type { BundleSource } from '../bundle/source.js';
import { AirlockError } from '../errors.js';
import { bundleSource } from './bundle-arg.js';
import type { CliIO, OptionSpec } from './command.js';

export const PARTS_FROM_OPTION = {
  flag: '--parts-from',
  value: 'DIR',
  repeatable: true,
  complete: 'dir',
  description:
    "a split bundle's parts may also lie in DIR (repeat it: one per stick or folder); each part is read from the first folder holding it at its size, the index's own folder first",
} as const satisfies OptionSpec;

/** The BUNDLE argument as bundle-arg.ts reads it, its parts looked for in the --parts-from folders too. */
export function sourceWithParts(arg: string, partsFrom: readonly string[] | undefined, io: CliIO, command: string, resolve = true): BundleSource {
  if (!partsFrom?.length) return bundleSource(arg, io, command, resolve);
  if (arg === '-')
    throw new AirlockError('USAGE', '--parts-from is for a split bundle on disk, not a tar on standard input', { path: '--parts-from' });
  const dirs = partsFrom.map((d) => path.resolve(io.cwd, d));
  return fileSystemSource(resolve ? path.resolve(io.cwd, arg) : arg, { partsFrom: dirs });
}
