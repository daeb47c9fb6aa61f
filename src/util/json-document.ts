// Every JSON document airlock reads goes through here: a size cap before parsing, JSON.parse, the document's
// JSON Schema (schema/NAME.schema.json), and one error code for all three, naming the document and the field.
import { AirlockError, capText, FailureList, type ErrorCode } from '../errors.js';
import { firstSchemaProblem, schemaProblems } from './schemas.js';

export interface JsonDocumentOptions {
  /** schema/NAME.schema.json; absent when the caller validates the document itself (a config, merged over defaults) */
  schema?: string;
  /** names the document in messages (a file path, "airlock.json") */
  origin: string;
  /** the code of every refusal (MANIFEST_INVALID, CONFIG_INVALID, STORE_INVALID, …) */
  code: ErrorCode;
  /** refuse larger documents before parsing */
  maxBytes?: number;
  /** the code for an oversized one (default `code`) */
  tooLargeCode?: ErrorCode;
  /**
   * every schema problem (documents a person wrote and fixes at once: configs), or only the first (large or
   * untrusted documents: collecting every problem of a hostile one once took gigabytes). Default: the first.
   */
  allProblems?: boolean;
  /** turn an older version of the document into the current one, before the schema checks it */
  upgrade?: (doc: unknown) => unknown;
}

/** How much of a parser's message or a field name (both can carry untrusted text) a refusal quotes. */
const SHOWN = 256;
const clip = (s: string) => capText(s, SHOWN);

export function parseJsonDocument<T>(input: Buffer | string, o: JsonDocumentOptions): T {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (o.maxBytes !== undefined && size > o.maxBytes) {
    throw new AirlockError(o.tooLargeCode ?? o.code, `${o.origin} is ${size} bytes, over the ${o.maxBytes}-byte limit`, { path: o.origin });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  } catch (err) {
    throw new AirlockError(o.code, `${o.origin} is not JSON: ${clip((err as Error).message)}`, { path: o.origin, cause: err });
  }
  if (o.upgrade) doc = o.upgrade(doc);
  if (o.schema === undefined) return doc as T;
  if (!o.allProblems) {
    const p = firstSchemaProblem(o.schema, doc);
    if (p) throw new AirlockError(o.code, `${o.origin}: ${clip(p.field)} ${p.message}`, { path: clip(p.field) });
    return doc as T;
  }
  const problems = schemaProblems(o.schema, doc);
  if (problems.length === 0) return doc as T;
  const failures = new FailureList();
  for (const p of problems) failures.push({ code: o.code, path: p.field, message: `${o.origin}: ${p.field} ${p.message}` });
  throw failures.toError();
}
