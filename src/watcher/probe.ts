// Look at a candidate on disk: what its manifest or part index lists, how much of it is present,
// and a fingerprint (sizes + modification times) that changes whenever any of its files does.
import { createHash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { MAX_PARTS_INDEX_BYTES, parsePartsIndex } from '../bundle/parts-index.js';
import {
  DEFAULT_MAX_MANIFEST_BYTES,
  MANIFEST_NAME,
  MAX_SIGNATURES,
  PARTS_INDEX_SUFFIX,
  partsSignaturesName,
  SIDECAR_SIGNATURES_SUFFIX,
  SIGNATURES_DIR,
  TAR_SUFFIX,
} from '../format/layout.js';
import { manifestDigest, parseManifest } from '../format/manifest.js';
import { expectedEntries, stampOf } from '../format/payload.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import type { DirLook, StagingSummary } from '../spool/stager.js';
import type { Candidate } from './candidates.js';

export interface Probe {
  /** the location no longer exists (or a folder lost its airlock.json) */
  gone: boolean;
  /** every listed file is present at (at least) its declared size; for a tar: the file exists */
  complete: boolean;
  bytesPresent: number;
  /** unknown for a tar (its header holds the manifest; the total is not known up front) */
  bytesExpected?: number;
  fingerprint: string;
  /** a folder bundle verified while it arrives (src/spool/): how far that got */
  staging?: StagingSummary;
  /** how long looking took (ms), without what was done with the look: probes of huge bundles are spaced by it */
  costMs?: number;
}

interface Expected {
  /** path relative to the candidate's folder */
  rel: string;
  size: number;
}

/** A probe, and for a folder bundle whose manifest could be read, the per-file look the stager works from. */
export interface Observation {
  probe: Probe;
  look?: DirLook;
}

const STAT_CONCURRENCY = 32;

export interface ProbeOptions {
  /** a manifest larger than this is not parsed (verification rejects it) */
  maxManifestBytes?: number;
}

/**
 * Runs in the daemon's probe worker (probe-worker.ts), never on its event loop: a drop's manifest is untrusted,
 * and parsing a large one takes long enough to stall the API.
 */
export async function probeCandidate(c: Candidate, opts: ProbeOptions = {}): Promise<Probe> {
  return (await observeCandidate(c, opts)).probe;
}

export async function observeCandidate(c: Candidate, opts: ProbeOptions = {}): Promise<Observation> {
  switch (c.form) {
    case 'dir':
      return observeDirectory(c, opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
    case 'tar':
      return { probe: await probeTar(c.location) };
    case 'split':
      return { probe: await probeSplit(c.location) };
  }
}

async function observeDirectory(c: Candidate, maxManifestBytes: number): Promise<Observation> {
  const dir = c.location;
  const manifestFile = path.join(dir, MANIFEST_NAME);
  const st = await lstatOrUndefined(manifestFile);
  if (!st || !st.isFile()) return { probe: goneProbe() };
  const lines = [statLine(MANIFEST_NAME, st)];
  const signatures = await listingStats(path.join(dir, SIGNATURES_DIR), SIGNATURES_DIR);
  lines.push(...signatures.map(([rel, s]) => statLine(rel, s)));
  // The head as the stager sees it: a replaced file (same size and mtime, as rsync -a can leave it) still shows.
  const head = [stampLine(MANIFEST_NAME, st), ...signatures.map(([rel, s]) => stampLine(rel, s))];
  const listed =
    st.size <= maxManifestBytes ? await cachedExpected(manifestFile, head[0]!, (f) => expectedFromManifest(f, maxManifestBytes)) : undefined;
  // An unreadable manifest is left for verification to reject (with its code) once it stops changing.
  if (!listed) return { probe: { gone: false, complete: true, bytesPresent: 0, fingerprint: fingerprintOf(lines) } };
  const { probe, stats } = await measure(dir, listed.entries, lines);
  const look: DirLook = {
    location: c.location,
    root: c.root,
    manifestDigest: listed.digest,
    headKey: fingerprintOf(head),
    headChangedAt: Math.max(st.ctimeMs, ...signatures.map(([, s]) => s.ctimeMs)),
    listed: listed.entries.map((e) => ({ path: e.rel, size: e.size })),
    stamps: stats.map((s) => (s?.isFile() ? stampOf(s) : undefined)),
  };
  return { probe, look };
}

interface Listed {
  /** sha256 of the manifest bytes parsed */
  digest: string;
  entries: Expected[];
}

// Parsing a large manifest on every probe would be wasteful: reuse the last parse while its stat line is unchanged.
const parsed = new Map<string, { line: string; expected: Listed | undefined }>();

async function cachedExpected(file: string, line: string, read: (f: string) => Promise<Listed | undefined>): Promise<Listed | undefined> {
  const hit = parsed.get(file);
  if (hit && hit.line === line) return hit.expected;
  const expected = await read(file);
  if (parsed.size > 64) parsed.clear();
  parsed.set(file, { line, expected });
  return expected;
}

async function expectedFromManifest(file: string, maxBytes: number): Promise<Listed | undefined> {
  try {
    // Opened without blocking or following a link: a FIFO swapped in for airlock.json must not hang the probe.
    const bytes = await readSmallRegular(file, MANIFEST_NAME, maxBytes);
    const m = parseManifest(bytes, { maxBytes });
    // Symlinks and omitted files exist only in the manifest; nothing on disk is expected for them.
    return { digest: manifestDigest(bytes), entries: expectedEntries(m).map((e) => ({ rel: e.path, size: e.size })) };
  } catch {
    return undefined;
  }
}

async function probeTar(file: string): Promise<Probe> {
  const st = await lstatOrUndefined(file);
  if (!st || !st.isFile()) return goneProbe();
  const lines = [statLine(path.basename(file), st), ...(await sidecarLines(file, TAR_SUFFIX))];
  return { gone: false, complete: true, bytesPresent: st.size, fingerprint: fingerprintOf(lines) };
}

async function probeSplit(index: string): Promise<Probe> {
  const st = await lstatOrUndefined(index);
  if (!st || !st.isFile()) return goneProbe();
  const signatures = partsSignaturesName(path.basename(index));
  const lines = [
    statLine(path.basename(index), st),
    ...(await sidecarLines(index, PARTS_INDEX_SUFFIX)),
    ...(await listingStats(path.join(path.dirname(index), signatures), signatures)).map(([rel, s]) => statLine(rel, s)),
  ];
  const parts = st.size <= MAX_PARTS_INDEX_BYTES ? await cachedExpected(index, lines[0]!, expectedFromIndex) : undefined;
  if (!parts) return { gone: false, complete: true, bytesPresent: 0, fingerprint: fingerprintOf(lines) };
  return (await measure(path.dirname(index), parts.entries, lines)).probe;
}

/** The parts a split index lists, read by the one strict parser; undefined when it is not (yet) a valid index. */
async function expectedFromIndex(index: string): Promise<Listed | undefined> {
  try {
    const name = path.basename(index);
    const parsed = parsePartsIndex(await readSmallRegular(index, name, MAX_PARTS_INDEX_BYTES), name);
    return { digest: '', entries: parsed.parts.map((p) => ({ rel: p.name, size: p.size })) };
  } catch {
    return undefined;
  }
}

async function measure(base: string, expected: Expected[], lines: string[]): Promise<{ probe: Probe; stats: Array<Stats | undefined> }> {
  let bytesPresent = 0;
  let bytesExpected = 0;
  let complete = true;
  const stats = await mapLimited(expected, STAT_CONCURRENCY, (e) => lstatOrUndefined(path.join(base, e.rel)));
  expected.forEach((e, i) => {
    const s = stats[i];
    bytesExpected += e.size;
    if (!s || !s.isFile()) {
      complete = false;
      lines.push(`${e.rel}\0-`);
      return;
    }
    bytesPresent += Math.min(s.size, e.size);
    // Larger than declared still counts as arrived: verification rejects it with SIZE_MISMATCH instead of it waiting forever.
    if (s.size < e.size) complete = false;
    lines.push(statLine(e.rel, s));
  });
  return { probe: { gone: false, complete, bytesPresent, bytesExpected, fingerprint: fingerprintOf(lines) }, stats };
}

async function sidecarLines(file: string, suffix: string): Promise<string[]> {
  const base = path.basename(file);
  const sidecar = path.join(path.dirname(file), base.slice(0, base.length - suffix.length) + SIDECAR_SIGNATURES_SUFFIX);
  return (await listingStats(sidecar, path.basename(sidecar))).map(([rel, s]) => statLine(rel, s));
}

/** Each visible file in a folder (signatures) with its stat: adding or changing a signature changes the fingerprint. */
async function listingStats(dir: string, label: string): Promise<Array<[string, Stats]>> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  // A signature folder is small (a bundle has at most 64 signatures); a hostile one is cut, not listed whole.
  const out: Array<[string, Stats]> = [];
  for (const n of names.slice(0, 4 * MAX_SIGNATURES)) {
    const s = await lstatOrUndefined(path.join(dir, n));
    if (s) out.push([`${label}/${n}`, s]);
  }
  return out;
}

function statLine(rel: string, s: Stats): string {
  return `${rel}\0${s.size}\0${s.mtimeMs}`;
}

function stampLine(rel: string, s: Stats): string {
  return `${rel}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}\0${s.dev}`;
}

function fingerprintOf(lines: string[]): string {
  const h = createHash('sha256');
  for (const l of lines) h.update(l + '\n');
  return h.digest('hex');
}

function goneProbe(): Probe {
  return { gone: true, complete: false, bytesPresent: 0, fingerprint: '' };
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch {
    return undefined;
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}
