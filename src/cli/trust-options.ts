// --trust FILE, --revoked FILE and --threshold K, shared by verify, inspect and install.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import { loadTrust } from '../trust/load-trust.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { loadRevokedKeys } from '../trust/revoked-keys.js';
import { parseIntegerOption, type CliIO } from './command.js';

export const TRUST_OPTIONS = {
  trust: { type: 'string' },
  revoked: { type: 'string' },
  threshold: { type: 'string' },
} as const;

export interface TrustValues {
  trust?: string;
  revoked?: string;
  threshold?: string;
}

export interface TrustInput {
  allowedSigners: AllowedSigner[];
  revokedKeys?: RevokedKeys;
  threshold: number;
}

/** A line skipped in the trust file is worth a word on stderr, never a failure. */
function showWarnings(io: CliIO, warnings: string[]): void {
  for (const w of warnings) io.stderr.write(`airlock: warning: ${w}\n`);
}

export async function trustFromOptions(values: TrustValues, usage: string, io: CliIO): Promise<TrustInput> {
  if (values.trust === undefined)
    throw new AirlockError('USAGE', `missing --trust FILE (an OpenSSH allowed_signers file)\n${usage}`, { path: '--trust' });
  const set = await loadTrust({
    allowedSigners: path.resolve(io.cwd, values.trust),
    ...(values.revoked === undefined ? {} : { revokedKeys: path.resolve(io.cwd, values.revoked) }),
  });
  showWarnings(io, set.warnings);
  return {
    allowedSigners: set.signers,
    threshold: parseIntegerOption(values.threshold, '--threshold', 1) ?? 1,
    ...(set.revoked ? { revokedKeys: set.revoked } : {}),
  };
}

/** inspect: both files optional; --revoked alone still marks revoked keys. */
export async function optionalTrust(values: TrustValues, io: CliIO): Promise<{ allowedSigners?: AllowedSigner[]; revokedKeys?: RevokedKeys }> {
  const revokedKeys = values.revoked === undefined ? undefined : await loadRevokedKeys(path.resolve(io.cwd, values.revoked));
  if (values.trust === undefined) return revokedKeys ? { revokedKeys } : {};
  const set = await loadTrust({ allowedSigners: path.resolve(io.cwd, values.trust) });
  showWarnings(io, set.warnings);
  return { allowedSigners: set.signers, ...(revokedKeys ? { revokedKeys } : {}) };
}
