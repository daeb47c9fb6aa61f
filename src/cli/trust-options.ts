// --trust FILE, --revoked FILE and --threshold K, shared by verify, inspect and install.
import path from 'node:path';
import type { AllowedSigner } from '../trust/allowed-signers.js';
import { loadTrust } from '../trust/load-trust.js';
import type { RevokedKeys } from '../trust/revoked-keys.js';
import { loadRevokedKeys } from '../trust/revoked-keys.js';
import { parseIntegerOption, type CliIO, type OptionSpec } from './command.js';

const TRUST_TEXT = 'the OpenSSH allowed_signers file naming the keys whose signatures count (docs/keys.md)';
const REVOKED = {
  flag: '--revoked',
  value: 'FILE',
  complete: 'file',
  description: 'public keys (one per line, as ssh-keygen -Y verify -r reads) whose signatures never count',
  group: 'Trust',
} as const satisfies OptionSpec;

/** verify and install: the trust file is required, and so many distinct trusted keys must have signed. */
export const TRUST_OPTIONS = [
  { flag: '--trust', value: 'ALLOWED_SIGNERS', required: true, complete: 'file', description: TRUST_TEXT, group: 'Trust' },
  REVOKED,
  { flag: '--threshold', value: 'K', complete: 'none', description: 'how many distinct trusted keys must have signed (default 1)', group: 'Trust' },
] as const satisfies readonly OptionSpec[];

/** inspect: looking needs no trust; with it, principals are shown. */
export const OPTIONAL_TRUST_OPTIONS = [
  { flag: '--trust', value: 'ALLOWED_SIGNERS', complete: 'file', description: `${TRUST_TEXT}: shows each signature's principals`, group: 'Trust' },
  REVOKED,
] as const satisfies readonly OptionSpec[];

export interface TrustValues {
  trust?: string | undefined;
  revoked?: string | undefined;
  threshold?: string | undefined;
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

export async function trustFromOptions(values: TrustValues & { trust: string }, io: CliIO): Promise<TrustInput> {
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
