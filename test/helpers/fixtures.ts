// The committed model fixtures and `packFixture`, which runs the real `airlock pack` on one of them.
//
// Stable API for every test file (other helpers rely on it):
//   fixturePath(name)          absolute path of fixtures/<name> (e.g. 'nim-cache', 'model-dir', 'nim-cache.profile.json')
//   nimCacheProfile()          the profile cached in fixtures/nim-cache: { id, name, tags } plus model, image, snapshot
//   packFixture(t, options)    pack a fixture (or any directory) with the CLI; resolves to a PackedFixture whose
//                              `location` is the bundle directory, the .airlock.tar, or the .airlock.parts.json index
//   packArgs(options, out)     the argument list packFixture passes to `airlock`, for tests that expect a failure
// packFixture never wipes the test's directory: it creates a fresh `pack-XXXX/` inside t.testdir()
// (calling t.testdir() only if the test has not created it yet), unless `out` is given.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { BundleKind, ManifestTotals, Profile } from '../../src/format/manifest.js';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { airlock } from './cli.js';

export type FixtureName = 'nim-cache' | 'model-store' | 'model-dir';

export const FIXTURE_MODEL_NAME = 'meta/llama-3.1-8b-instruct';

export function fixturePath(name: string): string {
  return path.join(PACKAGE_ROOT, 'fixtures', name);
}

export interface NimCacheProfile {
  model: string;
  image: string;
  /** Snapshot folder inside fixtures/nim-cache holding the profile's symlinks. */
  snapshot: string;
  profile: Required<Profile>;
}

export function nimCacheProfile(): NimCacheProfile {
  return JSON.parse(readFileSync(fixturePath('nim-cache.profile.json'), 'utf8')) as NimCacheProfile;
}

export interface PackFixtureOptions {
  /** Which committed fixture to pack (default: `kind`, or 'nim-cache'). Ignored when `source` is set. */
  fixture?: FixtureName;
  /** Pack this directory instead of a committed fixture. */
  source?: string;
  /** --kind (default: the fixture's own kind; 'model-dir' for a custom `source`). */
  kind?: BundleKind;
  /** --format (default dir). */
  format?: 'dir' | 'tar';
  /** --split-size, e.g. '8K' (implies tar). */
  split?: string;
  /** Private key files for --sign (e.g. from test/helpers/keys.ts or bundle-builder.ts sshKey). */
  signKeys?: string[];
  passphraseFile?: string;
  /** --name (default meta/llama-3.1-8b-instruct). */
  name?: string;
  channel?: string;
  sequence?: number;
  expires?: string;
  /** --against INVENTORY file. */
  against?: string;
  /** --image-archive values, `FILE` or `FILE=REF`. */
  images?: string[];
  servedModelName?: string;
  /** Add the fixture's NIM profile (--profile/--profile-tags); default true for --kind nim-cache. */
  withProfile?: boolean;
  /** Anything else to append to the command line. */
  extraArgs?: string[];
  /** --out; default a fresh directory inside the test's testdir (dir form: `<that>/bundle`). */
  out?: string;
}

export interface PackedFixture {
  /** The bundle directory, the .airlock.tar, or the .airlock.parts.json index. */
  location: string;
  form: 'dir' | 'tar' | 'split';
  id: string;
  manifestDigest: string;
  /** location first, then the parts of a split bundle */
  outputs: string[];
  totals: ManifestTotals & { signatures: number };
  /** The --out value used. */
  out: string;
  /** The directory that was packed. */
  source: string;
}

interface TestdirHost {
  testdir(): string;
  testdirName: string;
}

export async function packFixture(t: TestdirHost, options: PackFixtureOptions = {}): Promise<PackedFixture> {
  let out = options.out;
  if (out === undefined) {
    const base = existsSync(t.testdirName) ? t.testdirName : t.testdir();
    const fresh = await mkdtemp(path.join(base, 'pack-'));
    out = options.format === 'tar' || options.split !== undefined ? fresh : path.join(fresh, 'bundle');
  }
  const args = packArgs(options, out);
  const res = await airlock(args);
  if (res.exitCode !== 0) throw new Error(`airlock ${args.join(' ')} exited ${res.exitCode}: ${res.stderr}`);
  const json = JSON.parse(res.stdout) as Omit<PackedFixture, 'out' | 'source'>;
  return { ...json, out, source: sourceOf(options) };
}

export function packArgs(options: PackFixtureOptions, out: string): string[] {
  const fixture = options.fixture ?? (options.kind as FixtureName | undefined) ?? 'nim-cache';
  const kind = options.kind ?? (options.source ? 'model-dir' : fixture);
  const args = ['pack', sourceOf(options), '--out', out, '--name', options.name ?? FIXTURE_MODEL_NAME, '--kind', kind, '--json'];
  if (options.format) args.push('--format', options.format);
  if (options.split) args.push('--split-size', options.split);
  for (const k of options.signKeys ?? []) args.push('--sign', k);
  if (options.passphraseFile) args.push('--passphrase-file', options.passphraseFile);
  if (options.channel) args.push('--channel', options.channel);
  if (options.sequence !== undefined) args.push('--sequence', String(options.sequence));
  if (options.expires) args.push('--expires', options.expires);
  if (options.against) args.push('--against', options.against);
  for (const img of options.images ?? []) args.push('--image-archive', img);
  if (options.servedModelName) args.push('--served-model-name', options.servedModelName);
  // A nim-cache without a profile could never deploy (pack refuses it): copies of the fixture carry its profile too.
  if (options.withProfile ?? kind === 'nim-cache') {
    const { profile } = nimCacheProfile();
    args.push('--profile', `${profile.id}=${profile.name}`);
    args.push(
      '--profile-tags',
      `${profile.id}:${Object.entries(profile.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
    );
  }
  args.push(...(options.extraArgs ?? []));
  return args;
}

function sourceOf(options: PackFixtureOptions): string {
  return options.source ?? fixturePath(options.fixture ?? (options.kind as FixtureName | undefined) ?? 'nim-cache');
}
