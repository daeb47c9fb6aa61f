// Signing at pack time: find every --sign key and --sign-agent key before any heavy work, then sign the
// manifest bytes with each in turn (a token's touch is asked for one key at a time), and a split bundle's
// parts index too, under its own namespace (docs/parts.md).
import { AirlockError } from '../errors.js';
import { PARTS_NAMESPACE, SIGNATURE_NAMESPACE } from '../format/layout.js';
import { agentSigner } from '../trust/agent-signer.js';
import { signerForKeyFile } from '../trust/key-file-signer.js';
import { sameKey } from '../trust/public-key.js';
import { defaultLabel } from '../trust/signature-file.js';
import type { SshsigSigner } from '../trust/signer.js';

export interface ManifestSigner {
  /** File name stem: signatures/<label>.sig */
  label: string;
  sign(manifestBytes: Buffer): Promise<string>;
  /** The same key over a parts index's exact bytes, namespace `airlock-parts`. */
  signPartsIndex(indexBytes: Buffer): Promise<string>;
}

export interface LoadSignersOptions {
  passphraseFile?: string;
  prompt?: (question: string) => Promise<string>;
  warn?: (message: string) => void;
  /** ssh-keygen's own lines (the token's "Confirm user presence") are shown here. */
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SignerSources {
  /** --sign KEY: private key files (ed25519, or a security key's handle) */
  keyFiles: string[];
  /** --sign-agent FINGERPRINT|PUBKEYFILE: keys held by ssh-agent */
  agentKeys?: string[];
}

export async function loadSigners(sources: SignerSources, opts: LoadSignersOptions = {}): Promise<ManifestSigner[]> {
  const signers: Array<{ flag: string; signer: SshsigSigner }> = [];
  const add = (flag: string, signer: SshsigSigner) => {
    // A second signature by the same key would not count towards any threshold.
    const earlier = signers.find((s) => sameKey(s.signer.public, signer.public));
    if (earlier) throw new AirlockError('USAGE', `${flag} is the same key as ${earlier.flag}`, { path: flag });
    signers.push({ flag, signer });
  };
  for (const file of sources.keyFiles) add(`--sign ${file}`, await signerForKeyFile(file, opts));
  for (const selector of sources.agentKeys ?? []) add(`--sign-agent ${selector}`, await agentSigner(selector, opts));
  // Same labels as `airlock sign` gives, so a key's signature has one name however it was made.
  const labels = uniqueLabels(signers.map((s) => defaultLabel(s.signer.public)));
  return signers.map(({ signer }, i) => ({
    label: labels[i] ?? `key${i + 1}`,
    sign: (bytes) => signer.sign(bytes, SIGNATURE_NAMESPACE),
    signPartsIndex: (bytes) => signer.sign(bytes, PARTS_NAMESPACE),
  }));
}

/** Two keys with the same comment get `-2`, `-3` … so neither signature file overwrites the other. Pure. */
export function uniqueLabels(bases: string[]): string[] {
  const used = new Set<string>();
  return bases.map((base) => {
    let label = base;
    for (let n = 2; used.has(label); n++) label = `${base.slice(0, 60)}-${n}`;
    used.add(label);
    return label;
  });
}
