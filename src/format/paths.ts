// Path rules for every name inside a bundle. Pure: no file system access.

import { capText } from '../errors.js';

/** A bundle path has at most this many segments (a NIM cache is under ten deep). */
export const MAX_PATH_SEGMENTS = 128;

/** Why a bundle-relative path is unsafe, or undefined when it is fine. */
export function pathProblem(p: string): string | undefined {
  if (p.length === 0) return 'is empty';
  if (p.includes('\0')) return 'contains NUL';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'has a drive letter';
  if (Buffer.byteLength(p) > 4096) return 'is longer than 4096 bytes';
  const segments = p.split('/');
  if (segments.length > MAX_PATH_SEGMENTS) return `has more than ${MAX_PATH_SEGMENTS} segments`;
  for (const seg of segments) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return `has a '${seg}' segment`;
    if (Buffer.byteLength(seg) > 255) return 'has a segment longer than 255 bytes';
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f]/.test(seg)) return 'contains a control character';
  }
  return undefined;
}

/** At most `max` characters of an untrusted string, for messages (a hostile path can be megabytes long). */
export function clip(s: string, max = 256): string {
  return capText(s, max);
}
