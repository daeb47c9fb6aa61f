// SHA256SUMS (what `sha256sum -c` reads) and its SSHSIG (what `ssh-keygen -Y verify -n airlock-release` checks).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';
import type { PrivateKey } from '../../src/trust/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../../src/trust/sshsig.js';
import { RELEASE_NAMESPACE } from './release-layout.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `HEX  NAME` lines (sha256sum's text mode), sorted by name. Pure. */
export function sumsText(entries: { name: string; sha256: string }[]): string {
  for (const e of entries) {
    if (e.name !== path.basename(e.name) || /[\s\\]/.test(e.name)) throw new AirlockError('INTERNAL', `${JSON.stringify(e.name)} cannot be a SHA256SUMS entry`);
  }
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((e) => `${e.sha256}  ${e.name}\n`)
    .join('');
}

/** Sign as `ssh-keygen -Y sign -n airlock-release` (sha512), and check the result before anyone relies on it. */
export function signSums(sums: Buffer, key: PrivateKey): string {
  const text = signSshsig(sums, key, RELEASE_NAMESPACE);
  const problem = verifySshsig(sums, parseSshsig(Buffer.from(text), 'new release signature'), RELEASE_NAMESPACE);
  if (problem) throw new AirlockError('INTERNAL', `the release signature just made does not verify: ${problem.message}`);
  return text;
}
