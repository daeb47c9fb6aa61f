// The OpenSSH allowed_signers file (ssh-keygen(1) "ALLOWED SIGNERS"): who may sign, for what, and when.
import { readFile } from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import { looksLikeKeyType, parsePublicKeyLine, type PublicKey } from './public-key.js';

export interface AllowedSigner {
  principals: string[];
  key: PublicKey;
  /** namespaces="…": an OpenSSH pattern-list the signature's namespace must match. */
  namespaces?: string[];
  validAfter?: Date;
  validBefore?: Date;
  /** 1-based line number in the file, for messages. */
  line: number;
}

const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

type Where = { origin: string; line: number };

function trustInvalid(w: Where, message: string): AirlockError {
  return new AirlockError('TRUST_INVALID', `${w.origin}:${w.line}: ${message}`, { path: w.origin });
}

/** Split off one field; a field starting with `"` runs to the closing quote, otherwise to whitespace. */
function takeField(text: string, w: Where, what: string): [field: string, rest: string] {
  if (text.startsWith('"')) {
    const close = text.indexOf('"', 1);
    if (close < 0) throw trustInvalid(w, `unterminated quote in ${what}`);
    return [text.slice(1, close), text.slice(close + 1).trimStart()];
  }
  const m = /^(\S+)\s*/.exec(text);
  return m ? [m[1]!, text.slice(m[0].length)] : ['', ''];
}

/** Options run to the first whitespace outside double quotes (sshkey_advance_past_options). */
function takeOptions(text: string, w: Where): [options: string, rest: string] {
  let quoted = false;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '\\' && text[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && /\s/.test(c)) break;
  }
  if (quoted) throw trustInvalid(w, 'unterminated quote in options');
  return [text.slice(0, i), text.slice(i).trimStart()];
}

/** Split `a,b="x,y",c` into [name, value?] pairs; values must be double-quoted, as OpenSSH requires. */
function splitOptions(options: string, w: Where): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  let i = 0;
  while (i < options.length) {
    const m = /^[A-Za-z0-9-]+/.exec(options.slice(i));
    if (!m) throw trustInvalid(w, `bad option syntax at ${JSON.stringify(options.slice(i))}`);
    const name = m[0].toLowerCase();
    i += m[0].length;
    let value: string | undefined;
    if (options[i] === '=') {
      if (options[++i] !== '"') throw trustInvalid(w, `option ${name}: value must be in double quotes`);
      value = '';
      for (i++; i < options.length && options[i] !== '"'; i++) {
        if (options[i] === '\\' && options[i + 1] === '"') i++;
        value += options[i];
      }
      i++; // closing quote (takeOptions guarantees it exists)
    }
    out.push([name, value]);
    if (i < options.length && options[i++] !== ',') throw trustInvalid(w, `bad option syntax after ${name}`);
  }
  return out;
}

/**
 * valid-after / valid-before: YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]. Like OpenSSH, times without Z are in the
 * system's local time zone; with Z they are UTC.
 */
export function parseSignerTime(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x)));
  const fields = [y!, mo! - 1, d!, h, mi, s] as const;
  const date = m[7] ? new Date(Date.UTC(...fields)) : new Date(...fields);
  const back = m[7]
    ? [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth(), date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  return back.every((v, i) => v === fields[i]) ? date : undefined; // rejects 20240231 and 2460
}

function applyOptions(signer: Partial<AllowedSigner>, options: string, w: Where): void {
  const seen = new Set<string>();
  for (const [name, value] of splitOptions(options, w)) {
    if (seen.has(name)) throw trustInvalid(w, `option ${name} given twice`);
    seen.add(name);
    if (name === 'cert-authority') {
      throw new AirlockError('UNSUPPORTED_KEY', `${w.origin}:${w.line}: cert-authority: OpenSSH certificates are not supported; list each signer's ssh-ed25519 key`, { path: w.origin });
    }
    if (name !== 'namespaces' && name !== 'valid-after' && name !== 'valid-before') throw trustInvalid(w, `unknown option ${JSON.stringify(name)}`);
    if (value === undefined || value === '') throw trustInvalid(w, `option ${name} needs a quoted value`);
    if (name === 'namespaces') {
      const list = value.split(',');
      if (list.some((n) => n === '')) throw trustInvalid(w, `namespaces="${value}" has an empty entry`);
      signer.namespaces = list;
      continue;
    }
    const time = parseSignerTime(value);
    if (!time) throw trustInvalid(w, `${name}="${value}" is not YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]`);
    if (name === 'valid-after') signer.validAfter = time;
    else signer.validBefore = time;
  }
}

function parseLine(text: string, w: Where): AllowedSigner {
  const [principalField, afterPrincipals] = takeField(text, w, 'principals');
  const principals = principalField.split(',');
  if (principals.some((p) => p.trim() === '')) throw trustInvalid(w, 'empty principal');
  const signer: Partial<AllowedSigner> = { principals, line: w.line };
  let rest = afterPrincipals;
  const first = /^\S*/.exec(rest)![0];
  if (first !== '' && !looksLikeKeyType(first)) {
    let options: string;
    [options, rest] = takeOptions(rest, w);
    applyOptions(signer, options, w);
  }
  const keyType = /^\S*/.exec(rest)![0];
  if (keyType === '') throw trustInvalid(w, 'missing key');
  if (!looksLikeKeyType(keyType)) throw trustInvalid(w, `${JSON.stringify(keyType)} is not a key type`);
  try {
    signer.key = parsePublicKeyLine(rest, `${w.origin}:${w.line}`);
  } catch (err) {
    // Same message (it names the line), but a bad key in a trust file is a trust-file error.
    if (err instanceof AirlockError) {
      throw new AirlockError(err.code === 'KEY_INVALID' ? 'TRUST_INVALID' : err.code, err.message, { path: w.origin, cause: err });
    }
    throw err;
  }
  return signer as AllowedSigner;
}

/** Parse an allowed_signers file. Comments (#) and blank lines are skipped; every other line must be usable. */
export function parseAllowedSigners(text: string, origin: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    signers.push(parseLine(line, { origin, line: i + 1 }));
  }
  return signers;
}

export async function loadAllowedSigners(file: string): Promise<AllowedSigner[]> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    throw new AirlockError('TRUST_INVALID', `cannot read allowed_signers file ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
  if (text.length > MAX_TRUST_FILE_BYTES) throw new AirlockError('TRUST_INVALID', `${file} is larger than ${MAX_TRUST_FILE_BYTES} bytes`, { path: file });
  return parseAllowedSigners(text.toString('utf8'), file);
}
