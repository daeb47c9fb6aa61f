// The OpenSSH allowed_signers file (ssh-keygen(1) "ALLOWED SIGNERS"): who may sign, for what, and when.
import { AirlockError } from '../errors.js';
import { isKeyType, looksLikeKeyType, parsePublicKeyLine, splitPublicKeyLine, unsupportedKeyMessage, type PublicKey } from './public-key.js';
import { parseSignerTime } from './signer-time.js';
import { readTrustFile } from './trust-file.js';

export { parseSignerTime } from './signer-time.js';

export interface AllowedSigner {
  principals: string[];
  key: PublicKey;
  /** namespaces="…": an OpenSSH pattern-list the signature's namespace must match. */
  namespaces?: string[];
  validAfter?: Date;
  validBefore?: Date;
  /** verify-required: a security key's signature must carry the user-verified flag (PIN or biometric). */
  verifyRequired?: boolean;
  /** 1-based line number in the file, for messages. */
  line: number;
}

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

const FLAG_OPTIONS = new Set(['cert-authority', 'verify-required']);
const VALUE_OPTIONS = new Set(['namespaces', 'valid-after', 'valid-before']);

/** sshsigopt_parse's options, plus verify-required (see docs/keys.md: OpenSSH's own allowed_signers lacks it). */
function applyOptions(signer: Partial<AllowedSigner>, options: string, w: Where): { certAuthority: boolean } {
  const seen = new Set<string>();
  let certAuthority = false;
  for (const [name, value] of splitOptions(options, w)) {
    if (seen.has(name)) throw trustInvalid(w, `option ${name} given twice`);
    seen.add(name);
    if (FLAG_OPTIONS.has(name)) {
      if (value !== undefined) throw trustInvalid(w, `option ${name} takes no value`);
      if (name === 'cert-authority') certAuthority = true;
      else signer.verifyRequired = true;
      continue;
    }
    if (!VALUE_OPTIONS.has(name)) throw trustInvalid(w, `unknown option ${JSON.stringify(name)}`);
    if (value === undefined || value === '') throw trustInvalid(w, `option ${name} needs a quoted value`);
    if (name === 'namespaces') {
      const list = value.split(',');
      if (list.some((n) => n === '')) throw trustInvalid(w, `namespaces="${value}" has an empty entry`);
      signer.namespaces = list;
      continue;
    }
    const parsed = parseSignerTime(value);
    if ('problem' in parsed) throw trustInvalid(w, `${name}="${value}" ${parsed.problem}`);
    if (name === 'valid-after') signer.validAfter = parsed.time;
    else signer.validBefore = parsed.time;
  }
  if (signer.validAfter && signer.validBefore && signer.validBefore.getTime() <= signer.validAfter.getTime()) {
    throw trustInvalid(w, 'valid-before is not after valid-after'); // sshsigopt_parse's final consistency check
  }
  return { certAuthority };
}

type LineResult = { signer: AllowedSigner } | { skipped: string };

function parseLine(text: string, w: Where): LineResult {
  const [principalField, afterPrincipals] = takeField(text, w, 'principals');
  const principals = principalField.split(',');
  if (principals.some((p) => p.trim() === '')) throw trustInvalid(w, 'empty principal');
  const signer: Partial<AllowedSigner> = { principals, line: w.line };
  let rest = afterPrincipals;
  let certAuthority = false;
  const first = /^\S*/.exec(rest)![0];
  if (first !== '' && !looksLikeKeyType(first)) {
    let options: string;
    [options, rest] = takeOptions(rest, w);
    ({ certAuthority } = applyOptions(signer, options, w));
  }
  const keyType = /^\S*/.exec(rest)![0];
  if (keyType === '') throw trustInvalid(w, 'missing key');
  if (!looksLikeKeyType(keyType)) throw trustInvalid(w, `${JSON.stringify(keyType)} is not a key type`);
  const origin = `${w.origin}:${w.line}`;
  const split = asTrustError(() => splitPublicKeyLine(rest, origin), w);
  // Lines airlock cannot use are skipped, not fatal: they can only ever fail to vouch, never vouch wrongly.
  if (certAuthority) return { skipped: `${origin}: cert-authority line skipped: OpenSSH certificates are not supported` };
  if (!isKeyType(split.type)) return { skipped: `${origin}: line skipped: ${unsupportedKeyMessage(split.type)}` };
  signer.key = asTrustError(() => parsePublicKeyLine(rest, origin), w);
  return { signer: signer as AllowedSigner };
}

// Same message (it names the line), but a bad key in a trust file is a trust-file error.
function asTrustError<T>(fn: () => T, w: Where): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AirlockError)
      throw new AirlockError(err.code === 'KEY_INVALID' ? 'TRUST_INVALID' : err.code, err.message, { path: w.origin, cause: err });
    throw err;
  }
}

export interface AllowedSignersFile {
  signers: AllowedSigner[];
  /** Lines skipped (a key type or option airlock cannot use), each naming its file and line. */
  warnings: string[];
}

/**
 * Parse an allowed_signers file. Comments (#) and blank lines are ignored; a line with a key airlock cannot
 * use is skipped with a warning; any other malformed line, or a file left with no usable key, is TRUST_INVALID.
 */
export function parseAllowedSignersFile(text: string, origin: string): AllowedSignersFile {
  const signers: AllowedSigner[] = [];
  const warnings: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const result = parseLine(line, { origin, line: i + 1 });
    if ('signer' in result) signers.push(result.signer);
    else warnings.push(result.skipped);
  }
  if (signers.length === 0) {
    const why = warnings.length > 0 ? `every key line was skipped (${warnings.length})` : 'it lists no key';
    throw new AirlockError('TRUST_INVALID', `${origin}: no usable key: ${why}`, { path: origin });
  }
  return { signers, warnings };
}

/** The signers alone, for callers that have nowhere to show warnings. */
export function parseAllowedSigners(text: string, origin: string): AllowedSigner[] {
  return parseAllowedSignersFile(text, origin).signers;
}

export async function readAllowedSigners(file: string): Promise<AllowedSignersFile> {
  return parseAllowedSignersFile((await readTrustFile(file, 'allowed_signers')).toString('utf8'), file);
}

export async function loadAllowedSigners(file: string): Promise<AllowedSigner[]> {
  return (await readAllowedSigners(file)).signers;
}
