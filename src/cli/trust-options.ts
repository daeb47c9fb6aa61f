// --trust FILE and --threshold K, shared by verify, inspect and install.
import { AirlockError } from '../errors.js';
import { loadAllowedSigners, type AllowedSigner } from '../trust/allowed-signers.js';
import { parseIntegerOption } from './command.js';

export interface TrustInput {
  allowedSigners: AllowedSigner[];
  threshold: number;
}

export async function trustFromOptions(trust: string | undefined, threshold: string | undefined, usage: string): Promise<TrustInput> {
  if (trust === undefined) throw new AirlockError('USAGE', `missing --trust FILE (an OpenSSH allowed_signers file)\n${usage}`, { path: '--trust' });
  return { allowedSigners: await loadAllowedSigners(trust), threshold: parseIntegerOption(threshold, '--threshold', 1) ?? 1 };
}
