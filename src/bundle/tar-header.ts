// One reading of a tar header, the strict subset airlock writes (docs/format.md, "The tar form"): POSIX ustar headers,
// pax extended headers with a handful of keys, numbers in octal or base-256, UTF-8 names. Anything a second
// reader (GNU tar, node-tar) could read differently is refused rather than interpreted: a reviewer who
// extracts the tar by hand must see exactly the bytes airlock installs (issue 11 §6). Pure.
import { AirlockError } from '../errors.js';
import { clip } from '../format/paths.js';
import type { EntryKind } from './entry-checker.js';

export const BLOCK = 512;
/** pax records of a pack-written tar are a few hundred bytes; anything near this is not one of ours. */
export const MAX_PAX_BYTES = 64 * 1024;

export type DecodedHeader =
  | { kind: 'zero' }
  /** a pax extended header: its records (`size` bytes) apply to the next entry */
  | { kind: 'pax'; size: number }
  | { kind: 'entry'; path: string; entryKind: EntryKind; size: number };

/** What a pax header may override, and the keys it may carry at all. */
export interface PaxOverrides {
  path?: string;
  size?: number;
}

const PAX_KEYS = new Set(['path', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname']);

const TYPES: Record<string, EntryKind> = {
  '0': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'device',
  '4': 'device',
  '5': 'directory',
  '6': 'fifo',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Numeric header fields besides the size: name, offset, length. */
const NUMERIC_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['mtime', 136, 12],
];

function invalid(origin: string, at: number, why: string): AirlockError {
  return new AirlockError('TAR_INVALID', `${origin} is not a valid airlock tar: ${why} (header at byte ${at})`, { path: origin });
}

/** Decode one 512-byte header block found at byte `at` of `origin`. */
export function decodeHeader(block: Buffer, origin: string, at: number): DecodedHeader {
  if (block.length !== BLOCK) throw invalid(origin, at, 'short header block');
  if (isZero(block)) return { kind: 'zero' };
  const stored = octal(block, 148, 8);
  if (stored === undefined || stored !== checksum(block)) throw invalid(origin, at, 'checksum failure');
  if (block.toString('latin1', 257, 263) !== 'ustar\0' || block.toString('latin1', 263, 265) !== '00') {
    throw invalid(origin, at, 'not a POSIX ustar header');
  }
  const size = numeric(block, 124, 12);
  if (size === undefined) throw invalid(origin, at, 'the size field is not a number');
  const type = String.fromCharCode(block[156]!);
  if (type === 'x') {
    if (size > MAX_PAX_BYTES) throw invalid(origin, at, `a pax header of ${size} bytes`);
    return { kind: 'pax', size };
  }
  // Fields airlock itself ignores must still be what GNU tar can read: it refuses an archive over one of them.
  // (node-tar's portable mode leaves uid and gid all NUL, which GNU tar reads as 0.)
  for (const [name, start, length] of NUMERIC_FIELDS) {
    if (!isZero(block.subarray(start, start + length)) && numeric(block, start, length) === undefined)
      throw invalid(origin, at, `the ${name} field is not a number`);
  }
  const entryKind = TYPES[type];
  if (!entryKind) throw invalid(origin, at, `unsupported entry type ${JSON.stringify(type)}`);
  const name = text(block, 0, 100, origin, at);
  const prefix = text(block, 345, 155, origin, at);
  if (entryKind === 'file' && block[157] !== 0) throw invalid(origin, at, 'a regular file with a link name');
  return { kind: 'entry', path: prefix === '' ? name : `${prefix}/${name}`, entryKind, size };
}

/** Parse pax records strictly: `LEN key=value\n`, LEN counting the whole record; known keys once each. */
export function parsePax(body: Buffer, origin: string, at: number): PaxOverrides {
  const out: PaxOverrides = {};
  const seen = new Set<string>();
  for (let pos = 0; pos < body.length;) {
    const space = body.indexOf(0x20, pos);
    const lenText = space === -1 ? '' : body.toString('latin1', pos, space);
    if (!/^[1-9][0-9]{0,7}$/.test(lenText)) throw invalid(origin, at, 'a malformed pax record length');
    const end = pos + Number(lenText);
    if (end > body.length || body[end - 1] !== 0x0a) throw invalid(origin, at, 'a pax record that does not end where its length says');
    const eq = body.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end - 1) throw invalid(origin, at, 'a pax record without key=value');
    const key = body.toString('latin1', space + 1, eq);
    if (!PAX_KEYS.has(key)) throw invalid(origin, at, `pax key ${JSON.stringify(clip(key, 64))}, which airlock does not write`);
    if (seen.has(key)) throw invalid(origin, at, `pax key ${key} given twice`);
    seen.add(key);
    const value = body.subarray(eq + 1, end - 1);
    if (key === 'path') out.path = strictUtf8(value, origin, at);
    if (key === 'size') {
      const v = value.toString('latin1');
      if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalid(origin, at, 'a pax size that is not a number');
      out.size = Number(v);
    }
    pos = end;
  }
  return out;
}

function strictUtf8(bytes: Buffer, origin: string, at: number): string {
  if (bytes.includes(0)) throw invalid(origin, at, 'a name holding NUL');
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid(origin, at, 'a name that is not UTF-8');
  }
}

// A name field ends at its first NUL; what follows it must be NUL too, or two readers could disagree.
function text(block: Buffer, start: number, length: number, origin: string, at: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  const used = nul === -1 ? field : field.subarray(0, nul);
  if (nul !== -1 && !isZero(field.subarray(nul))) throw invalid(origin, at, 'bytes after the end of a name');
  return strictUtf8(used, origin, at);
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function checksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}

// Octal digits, optionally led by spaces and ended by NUL or space: what every tar writer produces.
function octal(block: Buffer, start: number, length: number): number | undefined {
  const s = block.toString('latin1', start, start + length);
  const m = /^ *([0-7]+)[ \0]*$/.exec(s);
  return m ? parseInt(m[1]!, 8) : undefined;
}

// GNU's base-256: the first byte 0x80, the rest big-endian (what node-tar writes for sizes over 8 GiB).
function numeric(block: Buffer, start: number, length: number): number | undefined {
  if (block[start] !== 0x80) return octal(block, start, length);
  let n = 0;
  for (let i = start + 1; i < start + length; i++) n = n * 256 + block[i]!;
  return Number.isSafeInteger(n) ? n : undefined;
}
