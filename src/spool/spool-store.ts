// The spool on disk (layout.ts): a folder per trusted parts index, created with the index's exact bytes and its
// signatures, then filled part by part (each fsynced, renamed into place, its folder fsynced, then recorded in
// spool.json, so a part listed there is on disk whatever happens next). Loaded again at start-up.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parsePartsIndex, type PartsIndex } from '../bundle/parts-index.js';
import { capText, MAX_FAILURE_TEXT } from '../errors.js';
import { MAX_SIGNATURES, SIGNATURE_SUFFIX } from '../format/layout.js';
import { fsyncDir, removeTree, writeFileAtomic } from '../store/durable.js';
import type { SignatureInput } from '../trust/policy.js';
import { parseJsonDocument } from '../util/json-document.js';
import type { PartsRejection } from '../watcher/parts-arrival.js';
import {
  BLOBS_DIR,
  partsSignaturesName,
  sidecarName,
  SPOOL_RECORD,
  SPOOL_SCHEMA_VERSION,
  SPOOL_TEMP_PREFIX,
  spoolDir,
  UNPACKED_RECORD,
} from './layout.js';

export interface SpooledPartRecord {
  name: string;
  /** the copy it was read from */
  from: string;
  stick: string;
  stickPath: string;
  media: boolean;
  at: string;
}

export interface SpoolRecord {
  schema: typeof SPOOL_SCHEMA_VERSION;
  /** sha256 of the index's exact bytes */
  key: string;
  indexName: string;
  createdAt: string;
  lastActivity: string;
  parts: SpooledPartRecord[];
  rejected: PartsRejection[];
  duplicates: number;
  /** where the index was seen (the newest MAX_LOCATIONS) */
  locations: string[];
}

export const MAX_LOCATIONS = 32;

export async function ensureRoot(root: string): Promise<void> {
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  await fsp.chmod(root, 0o700);
}

/** A new spool folder with the index's exact bytes and the signatures found beside it. */
export async function createSpool(root: string, key: string, indexName: string, indexBytes: Buffer, now: Date): Promise<SpoolRecord> {
  const dir = spoolDir(root, key);
  await fsp.mkdir(dir, { mode: 0o700 });
  await writeFileAtomic(path.join(dir, indexName), indexBytes, 0o600);
  const record: SpoolRecord = {
    schema: SPOOL_SCHEMA_VERSION,
    key,
    indexName,
    createdAt: now.toISOString(),
    lastActivity: now.toISOString(),
    parts: [],
    rejected: [],
    duplicates: 0,
    locations: [],
  };
  await saveRecord(root, record);
  await fsyncDir(root);
  return record;
}

export async function saveRecord(root: string, record: SpoolRecord): Promise<void> {
  await writeFileAtomic(path.join(spoolDir(root, record.key), SPOOL_RECORD), JSON.stringify(record, null, 1) + '\n', 0o600);
}

/**
 * Add signatures seen beside an index on one more stick to the spool's own folders: new ones are kept (a name
 * taken by other bytes gets `-2`, `-3` …), the same bytes twice are kept once, never more than MAX_SIGNATURES.
 */
export async function mergeSignatures(
  root: string,
  key: string,
  indexName: string,
  parts: SignatureInput[],
  counter: SignatureInput[],
): Promise<number> {
  const dir = spoolDir(root, key);
  let added = 0;
  for (const [folder, list] of [
    [partsSignaturesName(indexName), parts],
    [sidecarName(indexName), counter],
  ] as const) {
    if (list.length === 0) continue;
    const target = path.join(dir, folder);
    await fsp.mkdir(target, { recursive: true, mode: 0o700 });
    const present = new Map<string, Buffer>();
    for (const n of await fsp.readdir(target)) if (n.endsWith(SIGNATURE_SUFFIX)) present.set(n, await fsp.readFile(path.join(target, n)));
    for (const s of list) {
      if ([...present.values()].some((b) => b.equals(s.bytes)) || present.size >= MAX_SIGNATURES) continue;
      const stem = path.basename(s.name, SIGNATURE_SUFFIX).replace(/[^A-Za-z0-9._-]/g, '-') || 'signature';
      let name = `${stem}${SIGNATURE_SUFFIX}`;
      for (let i = 2; present.has(name); i++) name = `${stem}-${i}${SIGNATURE_SUFFIX}`;
      await writeFileAtomic(path.join(target, name), s.bytes, 0o600);
      present.set(name, s.bytes);
      added++;
    }
  }
  return added;
}

/** A private name in the spool folder for a copy being read. */
export function tempFile(root: string, key: string, part: string): string {
  return path.join(spoolDir(root, key), `${SPOOL_TEMP_PREFIX}${part}-${randomBytes(4).toString('hex')}`);
}

/** A verified copy (already fsynced) becomes the spooled part: renamed into place, the folder fsynced. */
export async function commitPart(root: string, key: string, tmp: string, part: string): Promise<void> {
  const dir = spoolDir(root, key);
  await fsp.chmod(tmp, 0o400);
  await fsp.rename(tmp, path.join(dir, part));
  await fsyncDir(dir);
}

/** A refused copy as it is kept: its path and message cut like every failure text (names on a stick are anyone's). */
export function rejection(r: PartsRejection): PartsRejection {
  return { ...r, path: capText(r.path, MAX_FAILURE_TEXT), message: capText(r.message, MAX_FAILURE_TEXT) };
}

export interface LoadedSpool {
  record: SpoolRecord;
  indexBytes: Buffer;
  index: PartsIndex;
}

/**
 * Every spool folder, as recorded: parts listed there and on disk at their size are kept; copies left half-read
 * by a crash, parts not (yet) recorded and unpacked payload are removed (unpacking starts over from the spooled
 * parts). A folder without a readable record or index is removed: nothing in it was promised to anyone.
 */
export async function loadSpools(root: string, warn: (msg: string, err?: unknown) => void): Promise<LoadedSpool[]> {
  const out: LoadedSpool[] = [];
  for (const key of (await fsp.readdir(root).catch(() => [] as string[])).sort()) {
    const dir = path.join(root, key);
    let record: SpoolRecord;
    let indexBytes: Buffer;
    let index: PartsIndex;
    try {
      if (!/^[0-9a-f]{64}$/.test(key)) throw new Error('not a spool folder');
      record = parseJsonDocument<SpoolRecord>(await fsp.readFile(path.join(dir, SPOOL_RECORD)), {
        schema: 'spool',
        origin: path.join(dir, SPOOL_RECORD),
        code: 'STORE_INVALID',
        maxBytes: 64 * 1024 * 1024,
      });
      if (record.key !== key) throw new Error(`its record names ${record.key}`);
      indexBytes = await fsp.readFile(path.join(dir, record.indexName));
      if (createHash('sha256').update(indexBytes).digest('hex') !== key) throw new Error('its index is not the one it is named after');
      index = parsePartsIndex(indexBytes, record.indexName);
    } catch (err) {
      warn(`removing ${dir}: not a usable spool`, err);
      await removeTree(dir);
      continue;
    }
    const sizes = new Map(index.parts.map((p) => [p.name, p.size]));
    const listed = new Set<string>();
    const parts: SpooledPartRecord[] = [];
    for (const p of record.parts) {
      const st = await fsp.lstat(path.join(dir, p.name)).catch(() => undefined);
      if (st?.isFile() && st.size === sizes.get(p.name) && !listed.has(p.name)) {
        listed.add(p.name);
        parts.push(p);
      }
    }
    const keep = new Set([record.indexName, SPOOL_RECORD, partsSignaturesName(record.indexName), sidecarName(record.indexName), ...listed]);
    for (const name of await fsp.readdir(dir)) {
      if (keep.has(name)) continue;
      if (name === BLOBS_DIR || name === UNPACKED_RECORD || name.startsWith(SPOOL_TEMP_PREFIX) || sizes.has(name))
        await removeTree(path.join(dir, name));
    }
    out.push({ record: { ...record, parts }, indexBytes, index });
  }
  return out;
}

export async function removeSpool(root: string, key: string): Promise<void> {
  await removeTree(spoolDir(root, key));
}
