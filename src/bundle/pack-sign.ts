// Signing at pack time: load every --sign key before any heavy work, then sign the manifest bytes.
import { AirlockError } from '../errors.js';
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import { defaultLabel } from '../trust/signature-file.js';
import { loadPrivateKey, sameKey, type PrivateKey } from '../trust/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../trust/sshsig.js';

export interface ManifestSigner {
  /** File name stem: signatures/<label>.sig */
  label: string;
  sign(manifestBytes: Buffer): string;
}

export interface LoadSignersOptions {
  passphraseFile?: string;
  prompt?: (question: string) => Promise<string>;
  warn?: (message: string) => void;
}

export async function loadSigners(keyFiles: string[], opts: LoadSignersOptions = {}): Promise<ManifestSigner[]> {
  const keys: PrivateKey[] = [];
  for (const [i, file] of keyFiles.entries()) {
    const key = await loadPrivateKey(file, opts);
    // A second signature by the same key would not count towards any threshold.
    if (keys.some((k) => sameKey(k.public, key.public))) throw new AirlockError('USAGE', `--sign ${file} is the same key as an earlier --sign`, { path: keyFiles[i] });
    keys.push(key);
  }
  // Same labels as `airlock sign` gives, so a key's signature has one name however it was made.
  const labels = uniqueLabels(keys.map((k) => defaultLabel(k.public)));
  return keys.map((key, i) => ({
    label: labels[i] ?? `key${i + 1}`,
    sign: (bytes) => {
      const text = signSshsig(bytes, key, SIGNATURE_NAMESPACE);
      const problem = verifySshsig(bytes, parseSshsig(Buffer.from(text), 'new signature'), SIGNATURE_NAMESPACE);
      if (problem) throw new AirlockError('INTERNAL', `the signature just made does not verify: ${problem.message}`);
      return text;
    },
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
