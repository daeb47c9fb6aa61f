// What `airlock pack` is asked to make, as a typed object (the CLI turns flags into it: src/cli/pack-args.ts).
import type { BundleKind, Profile } from '../format/manifest.js';
import type { ImageArchiveSpec } from './write-dir.js';

export type PackForm = 'dir' | 'tar' | 'split';

export interface PackOptions {
  source: string;
  /** dir form: the bundle directory itself; tar and split forms: the directory that receives the files. */
  out: string;
  form: PackForm;
  splitSize?: number;
  id: string;
  name: string;
  kind: BundleKind;
  channel: string;
  sequence: number;
  /** Whole seconds: it is also the mtime of every tar entry. */
  created: Date;
  expires?: Date;
  profiles: Profile[];
  images: ImageArchiveSpec[];
  signKeys: string[];
  /** --sign-agent: fingerprints or public key files of keys held by ssh-agent */
  signAgentKeys?: string[];
  passphraseFile?: string;
  against?: string;
  servedModelName?: string;
}

export const DEFAULT_CHANNEL = 'stable';
const ID_MAX = 128;

/** `<name slug>-<sequence>-<8 hex>`, cut to the manifest's 128-character id limit. */
export function bundleId(name: string, sequence: number, randomHex: string): string {
  const tail = `-${sequence}-${randomHex}`;
  return name.replace(/\//g, '_').slice(0, ID_MAX - tail.length) + tail;
}
