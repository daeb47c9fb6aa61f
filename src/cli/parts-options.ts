// --parts-from DIR (repeatable), shared by verify and install: a split bundle's parts carried on several sticks.
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import type { BundleSource } from '../bundle/source.js';

export const PARTS_OPTIONS = { 'parts-from': { type: 'string', multiple: true } } as const;

export const PARTS_USAGE = `  --parts-from DIR   a split bundle's parts may also lie in DIR (repeat it: one per stick or folder); each
                     part is read from the first folder holding it at its size, the index's own folder first`;

/** The bundle at `location` (as the command resolved it), its parts looked for in the --parts-from folders too. */
export function sourceWithParts(location: string, partsFrom: string[] | undefined, cwd: string): BundleSource {
  const dirs = (partsFrom ?? []).map((d) => path.resolve(cwd, d));
  return fileSystemSource(location, dirs.length ? { partsFrom: dirs } : {});
}
