// Every kind of bundle source by name: a new source is one opener file plus one line here. The daemon opens
// sources in worker threads (identify, install), which load this module afresh: a kind must be listed here to be
// opened there.
import { AirlockError } from '../errors.js';
import { fileSystemSource } from './fs-source.js';
import type { BundleSource, SourceRef } from './source.js';

type Opener = (ref: SourceRef) => BundleSource;

const OPENERS: Record<string, Opener> = {
  fs: (ref) => fileSystemSource(ref.location, typeof ref.params?.['within'] === 'string' ? { within: ref.params['within'] } : {}),
};

/** Add a kind in this thread only (tests, one-process tools); the daemon's workers see only the kinds listed above. */
export function registerSourceKind(kind: string, open: Opener): void {
  OPENERS[kind] = open;
}

export function sourceFromRef(ref: SourceRef): BundleSource {
  const open = OPENERS[ref.kind];
  if (!open) throw new AirlockError('INTERNAL', `no bundle source of kind ${JSON.stringify(ref.kind)}`);
  return open(ref);
}

/** A bundle on disk; `within`: the watched root it lies in (every level below it is opened without following links). */
export function fsRef(location: string, within?: string): SourceRef {
  return { kind: 'fs', location, ...(within === undefined ? {} : { params: { within } }) };
}
