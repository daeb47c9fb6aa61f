// unpacked.json: the spool's word that every entry of its bundle was unpacked into blobs/ and verified against
// the trusted manifest. Read by the daemon's installer for a record it spooled itself (nothing a drop can name).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { PrestagedPayload } from '../bundle/prestaged.js';
import { writeFileAtomic } from '../store/durable.js';
import { parseJsonDocument } from '../util/json-document.js';
import { BLOBS_DIR, spoolDir, spoolKeyOf, UNPACKED_RECORD, UNPACKED_SCHEMA_VERSION } from './layout.js';

export interface UnpackedRecord {
  schema: typeof UNPACKED_SCHEMA_VERSION;
  manifestDigest: string;
  bytesVerified: number;
  filesVerified: number;
  at: string;
}

export async function writeUnpacked(dir: string, r: Omit<UnpackedRecord, 'schema' | 'at'>): Promise<void> {
  const doc: UnpackedRecord = { schema: UNPACKED_SCHEMA_VERSION, ...r, at: new Date().toISOString() };
  await writeFileAtomic(path.join(dir, UNPACKED_RECORD), JSON.stringify(doc) + '\n', 0o600);
}

/** The verified payload of the spooled bundle at `location` (a path inside the spool root), when it is all unpacked. */
export async function readUnpacked(root: string, location: string): Promise<PrestagedPayload | undefined> {
  const key = spoolKeyOf(root, location);
  if (!key) return undefined;
  const dir = spoolDir(root, key);
  const bytes = await fsp.readFile(path.join(dir, UNPACKED_RECORD)).catch(() => undefined);
  if (!bytes) return undefined;
  try {
    const r = parseJsonDocument<UnpackedRecord>(bytes, { schema: 'unpacked', origin: UNPACKED_RECORD, code: 'STORE_INVALID', maxBytes: 4096 });
    return { blobsDir: path.join(dir, BLOBS_DIR), manifestDigest: r.manifestDigest };
  } catch {
    return undefined;
  }
}
