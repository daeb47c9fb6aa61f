// Read a parts index where it was found (a stick, a drop folder) and judge it: its exact bytes, parsed by the
// one strict parser, its signatures (namespace airlock-parts) against the trust file and threshold, and the
// manifest countersignatures beside it. Bounded work on untrusted input (an index of at most 1 MiB, at most 64
// signatures of at most 16 KiB per folder), run in the spool worker, never on the daemon's event loop.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { evaluatePartsIndex } from '../bundle/parts-trust.js';
import { readPartsIndexFile, type PartsIndex } from '../bundle/parts-reader.js';
import { readSignatureDir } from '../bundle/signature-files.js';
import { toAirlockError, type Failure } from '../errors.js';
import { openBelow } from '../safe-fs/open-below.js';
import { loadTrust, type TrustFiles } from '../trust/load-trust.js';
import type { PartsIndexTrust, SignatureInput } from '../trust/policy.js';
import { partsSignaturesName, sidecarName } from './layout.js';

export interface IndexReadRequest {
  /** the watched root the index lies below (every level below it is opened without following a link) */
  root: string;
  file: string;
  trust: TrustFiles;
  threshold: number;
}

/**
 * trusted: signed and the signatures hold: its parts may be spooled. unsigned: no signature at all (an index
 * packed before indexes were signed): left to the whole-folder path. refused: signed, but the signatures do not
 * hold. invalid: not a readable index (left to the whole-folder path, which names the problem).
 */
export type IndexVerdict = 'trusted' | 'unsigned' | 'refused' | 'invalid';

export interface IndexRead {
  verdict: IndexVerdict;
  /** changes whenever the index or a signature beside it does */
  fingerprint: string;
  indexName: string;
  /** sha256 of the index's exact bytes: the spool's key */
  digest?: string;
  bytes?: Buffer;
  index?: PartsIndex;
  partsSignatures: SignatureInput[];
  countersignatures: SignatureInput[];
  trust?: PartsIndexTrust;
  failures: Failure[];
  /** lines skipped in the trust file */
  trustWarnings?: string[];
}

export async function readIndexAt(req: IndexReadRequest): Promise<IndexRead> {
  const indexName = path.basename(req.file);
  const base: IndexRead = { verdict: 'invalid', fingerprint: '', indexName, partsSignatures: [], countersignatures: [], failures: [] };
  let dir;
  try {
    dir = await openBelow(req.root, path.dirname(req.file), '', req.file);
  } catch (err) {
    return { ...base, failures: [failureOf(err)] };
  }
  try {
    let read;
    try {
      read = await readPartsIndexFile(dir, indexName);
    } catch (err) {
      return { ...base, failures: [failureOf(err)] };
    }
    const sigName = partsSignaturesName(indexName);
    const side = sidecarName(indexName);
    const digest = createHash('sha256').update(read.bytes).digest('hex');
    let partsSignatures: SignatureInput[];
    let countersignatures: SignatureInput[];
    try {
      partsSignatures = await readSignatureDir(dir, sigName, sigName);
      countersignatures = await readSignatureDir(dir, side, side);
    } catch (err) {
      return { ...base, digest, fingerprint: digest, failures: [failureOf(err)] };
    }
    const fingerprint = fingerprintOf(read.bytes, [...partsSignatures, ...countersignatures]);
    const found = { ...base, fingerprint, digest, bytes: read.bytes, index: read.index, partsSignatures, countersignatures };
    if (partsSignatures.length === 0) return { ...found, verdict: 'unsigned' };
    const set = await loadTrust(req.trust);
    const verdict = evaluatePartsIndex(
      { name: indexName, bytes: read.bytes, signatures: partsSignatures },
      { allowedSigners: set.signers, ...(set.revoked ? { revokedKeys: set.revoked } : {}), threshold: req.threshold, now: new Date() },
    );
    return {
      ...found,
      verdict: verdict.failures.length === 0 ? 'trusted' : 'refused',
      trust: verdict.trust,
      failures: verdict.failures,
      ...(set.warnings.length ? { trustWarnings: set.warnings } : {}),
    };
  } finally {
    await dir.close();
  }
}

function fingerprintOf(bytes: Buffer, signatures: SignatureInput[]): string {
  const h = createHash('sha256').update(bytes);
  for (const s of signatures) h.update(`\0${s.name}\0`).update(s.bytes);
  return h.digest('hex');
}

function failureOf(err: unknown): Failure {
  const e = toAirlockError(err);
  return { code: e.code, message: e.message, ...(e.path === undefined ? {} : { path: e.path }) };
}
