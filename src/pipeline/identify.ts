// Identify a dropped bundle from its head alone: the manifest's bytes and the signatures, judged against the
// trust file before anything is parsed. Runs in the identify worker (identify-worker.ts): all of it is work
// on untrusted input, bounded by the size limit, and none of it may run on the daemon's event loop.
import type { SourceRef } from '../bundle/source.js';
import { sourceFromRef } from '../bundle/sources.js';
import { evaluateTrust, passGates } from '../bundle/verify.js';
import { AirlockError } from '../errors.js';
import { loadTrust, type TrustFiles } from '../trust/load-trust.js';
import type { BundleIdentity } from './ports.js';

export interface IdentifyRequest {
  source: SourceRef;
  trust: TrustFiles;
  threshold: number;
  maxManifestBytes: number;
  /** the daemon's clock when it asked: expiry and key validity are judged at this time */
  now: Date;
}

export async function identifyBundle(req: IdentifyRequest): Promise<BundleIdentity> {
  const header = await sourceFromRef(req.source).open({ maxManifestBytes: req.maxManifestBytes });
  try {
    // The trust files are read each time: an operator's edit (a revoked key) applies to the next bundle without a restart.
    const set = await loadTrust(req.trust);
    const now = req.now;
    const trust = evaluateTrust(header, {
      allowedSigners: set.signers,
      ...(set.revoked ? { revokedKeys: set.revoked } : {}),
      threshold: req.threshold,
      now,
    });
    const identity: BundleIdentity = {
      manifestDigest: header.digest,
      signers: trust.signers,
      ...(set.warnings.length ? { trustWarnings: set.warnings } : {}),
    };
    try {
      const m = passGates(header, trust, now).manifest;
      return { ...identity, bundleId: m.id, name: m.name, kind: m.kind, channel: m.channel, sequence: m.sequence };
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return { ...identity, rejected: { failures: err.failures, failureCount: err.failureCount, message: err.message } };
    }
  } finally {
    await header.close();
  }
}
