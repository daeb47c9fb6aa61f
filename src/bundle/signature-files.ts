// Read signature files from a folder held open by descriptor (signatures/ of a directory bundle, or the
// sidecar folder beside a tar): at most MAX_SIGNATURES, each a small regular file, nothing followed.
import { AirlockError } from '../errors.js';
import { MAX_SIGNATURE_BYTES, MAX_SIGNATURES, SIGNATURE_SUFFIX } from '../format/layout.js';
import type { DirHandle } from '../safe-fs/dir-handle.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import type { SignatureInput } from '../trust/policy.js';

/** The signatures in folder `name` of `parent` (none when it does not exist); `label` prefixes each name in reports. */
export async function readSignatureDir(parent: DirHandle, name: string, label: string): Promise<SignatureInput[]> {
  const st = await parent.lstat(name);
  if (!st) return [];
  const dir = await parent.openDir(name, label);
  try {
    const names = (await dir.list()).filter((n) => n.endsWith(SIGNATURE_SUFFIX) && !n.startsWith('.'));
    if (names.length > MAX_SIGNATURES)
      throw new AirlockError('SIGNATURE_MALFORMED', `${label} holds more than ${MAX_SIGNATURES} signatures`, { path: label });
    const out: SignatureInput[] = [];
    for (const n of names.sort()) {
      out.push({ name: `${label}/${n}`, bytes: await readSmallRegular(dir.child(n), `${label}/${n}`, MAX_SIGNATURE_BYTES, 'SIGNATURE_MALFORMED') });
    }
    return out;
  } finally {
    await dir.close();
  }
}
