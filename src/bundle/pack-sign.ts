// Signing at pack time: load every --sign key before any heavy work, then sign the manifest bytes.
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import { loadPrivateKey, type PrivateKey } from '../trust/ssh-key.js';
import { signSshsig } from '../trust/sshsig.js';

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
  for (const file of keyFiles) keys.push(await loadPrivateKey(file, opts));
  const labels = signatureLabels(keys.map((k) => k.public.comment));
  return keys.map((key, i) => ({
    label: labels[i] ?? `key${i + 1}`,
    sign: (bytes) => signSshsig(bytes, key, SIGNATURE_NAMESPACE),
  }));
}

/**
 * Signature file labels from key comments: characters outside [A-Za-z0-9._-] become `_`, no leading
 * dot (hidden files), `key<N>` when nothing is left, `-2`, `-3` … on collisions. Pure.
 */
export function signatureLabels(comments: Array<string | undefined>): string[] {
  const used = new Set<string>();
  return comments.map((comment, i) => {
    const base = (comment ?? '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 64) || `key${i + 1}`;
    let label = base;
    for (let n = 2; used.has(label); n++) label = `${base}-${n}`;
    used.add(label);
    return label;
  });
}
