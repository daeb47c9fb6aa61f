// Look at a candidate on disk: what its manifest or part index lists, how much of it is present,
// and a fingerprint (sizes + modification times) that changes whenever any of its files does.
import { createHash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { MAX_PARTS_INDEX_BYTES, parsePartsIndex } from '../bundle/parts-index.js';
import {
  DEFAULT_MAX_MANIFEST_BYTES,
  MANIFEST_NAME,
  PARTS_INDEX_SUFFIX,
  partsSignaturesName,
  PAYLOAD_DIR,
  SIDECAR_SIGNATURES_SUFFIX,
  SIGNATURES_DIR,
  TAR_SUFFIX,
} from '../format/layout.js';
import { isFile, parseManifest } from '../format/manifest.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
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
}

interface Expected {
  /** path relative to the candidate's folder */
  rel: string;
  size: number;
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
  switch (c.form) {
    case 'dir':
      return probeDirectory(c.location, opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
    case 'tar':
      return probeTar(c.location);
    case 'split':
      return probeSplit(c.location);
  }
}

async function probeDirectory(dir: string, maxManifestBytes: number): Promise<Probe> {
  const manifestFile = path.join(dir, MANIFEST_NAME);
  const st = await lstatOrUndefined(manifestFile);
  if (!st || !st.isFile()) return goneProbe();
  const lines = [statLine(MANIFEST_NAME, st)];
  lines.push(...(await listingLines(path.join(dir, SIGNATURES_DIR), SIGNATURES_DIR)));
  const expected =
    st.size <= maxManifestBytes ? await cachedExpected(manifestFile, lines[0]!, (f) => expectedFromManifest(f, maxManifestBytes)) : undefined;
  // An unreadable manifest is left for verification to reject (with its code) once it stops changing.
  if (!expected) return { gone: false, complete: true, bytesPresent: 0, fingerprint: fingerprintOf(lines) };
  return measure(dir, expected, lines);
}

// Parsing a large manifest on every probe would be wasteful: reuse the last parse while its stat line is unchanged.
const parsed = new Map<string, { line: string; expected: Expected[] | undefined }>();

async function cachedExpected(file: string, line: string, read: (f: string) => Promise<Expected[] | undefined>): Promise<Expected[] | undefined> {
  const hit = parsed.get(file);
  if (hit && hit.line === line) return hit.expected;
  const expected = await read(file);
  if (parsed.size > 256) parsed.clear();
  parsed.set(file, { line, expected });
  return expected;
}

async function expectedFromManifest(file: string, maxBytes: number): Promise<Expected[] | undefined> {
  try {
    // Opened without blocking or following a link: a FIFO swapped in for airlock.json must not hang the probe.
    const m = parseManifest(await readSmallRegular(file, MANIFEST_NAME, maxBytes), { maxBytes });
    const out: Expected[] = [];
    // Symlinks and omitted files exist only in the manifest; nothing on disk is expected for them.
    for (const e of m.files) if (isFile(e) && !e.omitted) out.push({ rel: `${PAYLOAD_DIR}/${e.path}`, size: e.size });
    for (const i of m.images) out.push({ rel: i.archive, size: i.size });
    return out;
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
    ...(await listingLines(path.join(path.dirname(index), signatures), signatures)),
  ];
  const parts = st.size <= MAX_PARTS_INDEX_BYTES ? await cachedExpected(index, lines[0]!, expectedFromIndex) : undefined;
  if (!parts) return { gone: false, complete: true, bytesPresent: 0, fingerprint: fingerprintOf(lines) };
  return measure(path.dirname(index), parts, lines);
}

/** The parts a split index lists, read by the one strict parser; undefined when it is not (yet) a valid index. */
async function expectedFromIndex(index: string): Promise<Expected[] | undefined> {
  try {
    const name = path.basename(index);
    const parsed = parsePartsIndex(await readSmallRegular(index, name, MAX_PARTS_INDEX_BYTES), name);
    return parsed.parts.map((p) => ({ rel: p.name, size: p.size }));
  } catch {
    return undefined;
  }
}

async function measure(base: string, expected: Expected[], lines: string[]): Promise<Probe> {
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
  return { gone: false, complete, bytesPresent, bytesExpected, fingerprint: fingerprintOf(lines) };
}

async function sidecarLines(file: string, suffix: string): Promise<string[]> {
  const base = path.basename(file);
  const sidecar = path.join(path.dirname(file), base.slice(0, base.length - suffix.length) + SIDECAR_SIGNATURES_SUFFIX);
  return listingLines(sidecar, path.basename(sidecar));
}

/** One line per visible file in a folder (signatures): adding or changing a signature changes the fingerprint. */
async function listingLines(dir: string, label: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const s = await lstatOrUndefined(path.join(dir, n));
    if (s) out.push(statLine(`${label}/${n}`, s));
  }
  return out;
}

function statLine(rel: string, s: Stats): string {
  return `${rel}\0${s.size}\0${s.mtimeMs}`;
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
