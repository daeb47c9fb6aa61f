// The split-bundle index `<base>.airlock.parts.json`: build, serialise, parse. Pure.
import { AirlockError, type Failure } from '../errors.js';
import { partName } from '../format/layout.js';
import { parseJsonDocument } from '../util/json-document.js';
import { firstSchemaProblem } from '../util/schemas.js';

export const PARTS_SCHEMA_VERSION = 'airlock.parts/v1';
/** Far above any real index (thousands of parts); refused before JSON.parse. */
export const MAX_PARTS_INDEX_BYTES = 1024 * 1024;

export interface PartEntry {
  name: string;
  size: number;
  sha256: string;
}

export interface PartsIndex {
  schema: 'airlock.parts/v1';
  tar: string;
  size: number;
  sha256: string;
  parts: PartEntry[];
}

export function buildPartsIndex(tar: string, whole: { size: number; sha256: string }, parts: PartEntry[]): PartsIndex {
  return { schema: PARTS_SCHEMA_VERSION, tar, size: whole.size, sha256: whole.sha256, parts };
}

export function serializePartsIndex(index: PartsIndex): Buffer {
  const failures = partsIndexProblems(index, 'parts index');
  if (failures.length > 0) throw AirlockError.fromFailures(failures, `refusing to write an invalid parts index: ${failures[0]?.message}`);
  return Buffer.from(JSON.stringify(index, null, 2) + '\n', 'utf8');
}

/** Validate an index read from disk; throws PARTS_INVALID with every problem. */
export function parsePartsIndex(bytes: Buffer, origin: string): PartsIndex {
  const doc = parseJsonDocument<unknown>(bytes, { schema: 'parts', origin, code: 'PARTS_INVALID', maxBytes: MAX_PARTS_INDEX_BYTES });
  const failures = partsIndexProblems(doc, origin);
  if (failures.length > 0) throw AirlockError.fromFailures(failures);
  return doc as PartsIndex;
}

/** Schema problems, then what the schema cannot say: names in sequence, sizes adding up, equal-sized parts. */
export function partsIndexProblems(doc: unknown, origin: string): Failure[] {
  const problem = firstSchemaProblem('parts', doc);
  if (problem) return [{ code: 'PARTS_INVALID', path: problem.field, message: `${origin}: ${problem.field} ${problem.message}` }];
  const index = doc as PartsIndex;
  const failures: Failure[] = [];
  let sum = 0;
  const firstSize = index.parts[0]?.size ?? 0;
  index.parts.forEach((part, i) => {
    sum += part.size;
    if (part.name !== partName(index.tar, i))
      failures.push({
        code: 'PARTS_INVALID',
        path: `parts/${i}/name`,
        message: `${origin}: part ${i} should be named ${partName(index.tar, i)}, not ${part.name}`,
      });
    const last = i === index.parts.length - 1;
    if (last ? part.size > firstSize : part.size !== firstSize)
      failures.push({
        code: 'PARTS_INVALID',
        path: `parts/${i}/size`,
        message: `${origin}: part ${part.name} is ${part.size} bytes; every part but the last has the first part's size, the last no more`,
      });
  });
  if (sum !== index.size)
    failures.push({ code: 'PARTS_INVALID', path: 'size', message: `${origin}: parts add up to ${sum} bytes, not ${index.size}` });
  return failures;
}
