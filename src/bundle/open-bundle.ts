// Open a bundle on disk and parse its manifest without judging its signatures: for `inspect` and `sign`,
// where a person asked to look at it. Everything that acts on a bundle (verify, install) judges the
// signatures first, through a BundleSource (source.ts), and parses only what they vouch for.
import { fileSystemSource, type FsSourceOptions } from './fs-source.js';
import type { OpenedBundle, ReadLimits } from './source.js';

export type { BundleEntry, BundleForm, BundleHeader, BundleSource, OpenedBundle, ReadLimits } from './source.js';

/** The caller closes the bundle. */
export async function openBundle(location: string, opts: FsSourceOptions & { limits?: ReadLimits } = {}): Promise<OpenedBundle> {
  const header = await fileSystemSource(location, opts).open(opts.limits);
  try {
    return header.parse();
  } catch (err) {
    await header.close();
    throw err;
  }
}
