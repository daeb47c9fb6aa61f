// Signature files by a plain name each (`alice.sig`), for places that keep or send them as files: the store
// (kept with a deployment) and a registry (one layer each). Pure.
import { createHash } from 'node:crypto';
import { SIGNATURE_SUFFIX } from './layout.js';

export interface NamedSignature {
  name: string;
  sha256: string;
  bytes: Buffer;
}

/** Each distinct signature once (by content), under its file name made safe and unique. */
export function namedSignatures(inputs: ReadonlyArray<{ name: string; bytes: Buffer }>): NamedSignature[] {
  const out: NamedSignature[] = [];
  const names = new Set<string>();
  for (const input of inputs) {
    const sha256 = createHash('sha256').update(input.bytes).digest('hex');
    if (out.some((s) => s.sha256 === sha256)) continue;
    const last = input.name.split(/[\\/]/).pop() ?? '';
    let base = last
      .replace(/[^A-Za-z0-9._@+-]/g, '_')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 120);
    if (!base.endsWith(SIGNATURE_SUFFIX)) base = `${base || 'signature'}${SIGNATURE_SUFFIX}`;
    const stem = base.slice(0, -SIGNATURE_SUFFIX.length);
    let name = base;
    for (let i = 2; names.has(name); i++) name = `${stem}-${i}${SIGNATURE_SUFFIX}`;
    names.add(name);
    out.push({ name, sha256, bytes: input.bytes });
  }
  return out;
}
