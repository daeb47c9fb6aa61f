// Everything the receiving side trusts, read together: the allowed_signers file and the revoked keys beside it.
// Read afresh for each bundle by the daemon, so an operator's edit applies without a restart.
import type { AllowedSigner } from './allowed-signers.js';
import { readAllowedSigners } from './allowed-signers.js';
import { loadRevokedKeys, type RevokedKeys } from './revoked-keys.js';
import { summarizeTrust } from './trust-health.js';

export interface TrustFiles {
  allowedSigners: string;
  revokedKeys?: string;
}

export interface TrustSet {
  signers: AllowedSigner[];
  revoked?: RevokedKeys;
  /** Lines skipped in the trust file, for the caller to show (CLI: stderr; daemon: its log). */
  warnings: string[];
}

export async function loadTrust(files: TrustFiles): Promise<TrustSet> {
  const { signers, warnings } = await readAllowedSigners(files.allowedSigners);
  const revoked = files.revokedKeys === undefined ? undefined : await loadRevokedKeys(files.revokedKeys);
  return { signers, warnings, ...(revoked ? { revoked } : {}) };
}

/**
 * Whether the trust files let the published demo key sign bundles now: by its fingerprint, so a copied or renamed
 * demo file counts too. Files that cannot be read say no (whoever uses them reports why).
 */
export async function trustsDemoKey(files: TrustFiles, now = new Date()): Promise<boolean> {
  try {
    const set = await loadTrust(files);
    return summarizeTrust(set.signers, set.revoked, now).demoKey;
  } catch {
    return false;
  }
}
