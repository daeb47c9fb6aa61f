// Naming and writing signature files (signatures/<label>.sig or <base>.airlock.signatures/<label>.sig).
import { createHash } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { SIGNATURE_SUFFIX } from '../format/layout.js';
import type { PublicKey } from './public-key.js';

export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkLabel(label: string): string {
  if (!LABEL_PATTERN.test(label)) {
    throw new AirlockError('USAGE', `label ${JSON.stringify(label)} must match ${LABEL_PATTERN.source}`, { path: '--label' });
  }
  return label;
}

/** The key's comment made filename-safe (`alice@example.org` → `alice-example.org`), else `key-` + 12 hex of its blob's sha256. */
export function defaultLabel(key: PublicKey): string {
  const fromComment = (key.comment ?? '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  if (LABEL_PATTERN.test(fromComment)) return fromComment;
  return `key-${createHash('sha256').update(key.blob).digest('hex').slice(0, 12)}`;
}

export type WriteOutcome = 'written' | 'unchanged';

/**
 * Create DIR/LABEL.sig without ever replacing a different file. The text goes to a temporary file that is
 * hard-linked into place (a watcher never sees half a signature; link fails if the name exists); where
 * links are impossible (FAT32 sticks) an exclusive create is used instead. Identical content (ed25519
 * signatures are deterministic) means this key already signed: not an error.
 */
export async function writeSignatureFile(dir: string, label: string, text: string): Promise<{ file: string; outcome: WriteOutcome }> {
  const file = path.join(dir, `${checkLabel(label)}${SIGNATURE_SUFFIX}`);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${label}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o644, flag: 'w' });
    await link(tmp, file).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw err;
      await writeFile(file, text, { mode: 0o644, flag: 'wx' });
    });
    return { file, outcome: 'written' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const existing = await readFile(file, 'utf8').catch(() => undefined);
    if (existing === text) return { file, outcome: 'unchanged' };
    throw new AirlockError('SIGNATURE_EXISTS', `${file} already exists with a different signature; choose another --label`, {
      path: file,
      cause: err,
    });
  } finally {
    await rm(tmp, { force: true });
  }
}
