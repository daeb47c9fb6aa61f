// Read signature files from a folder (signatures/ of a directory bundle, or the sidecar folder beside a tar).
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MAX_SIGNATURE_BYTES, MAX_SIGNATURES, SIGNATURE_SUFFIX } from '../format/layout.js';
import type { SignatureInput } from '../trust/policy.js';

/** `label` prefixes each name in reports, e.g. `signatures` → `signatures/alice.sig`. */
export async function readSignatureDir(dir: string, label: string): Promise<SignatureInput[]> {
  const names = await fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: SignatureInput[] = [];
  for (const name of names.filter((n) => n.endsWith(SIGNATURE_SUFFIX) && !n.startsWith('.')).sort()) {
    if (out.length >= MAX_SIGNATURES) throw new AirlockError('SIGNATURE_MALFORMED', `${dir} holds more than ${MAX_SIGNATURES} signatures`, { path: dir });
    out.push({ name: `${label}/${name}`, bytes: await readSmallFile(path.join(dir, name), MAX_SIGNATURE_BYTES, `${label}/${name}`) });
  }
  return out;
}

/** Read a small regular file (never following a symlink), refusing anything over `limit` bytes. */
export async function readSmallFile(file: string, limit: number, shownAs: string, tooLarge: 'SIGNATURE_MALFORMED' | 'MANIFEST_TOO_LARGE' = 'SIGNATURE_MALFORMED'): Promise<Buffer> {
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw new AirlockError('WRONG_TYPE', `${shownAs} is a symlink`, { path: shownAs });
    throw err;
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AirlockError('WRONG_TYPE', `${shownAs} is not a regular file`, { path: shownAs });
    if (st.size > limit) throw new AirlockError(tooLarge, `${shownAs} is ${st.size} bytes, over the ${limit}-byte limit`, { path: shownAs });
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}
