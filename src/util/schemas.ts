// One ajv instance for every JSON document airlock reads or writes; schemas live in schema/ at the package root.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its callable arrives as `.default`.
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats = (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

/** The package root (where schema/ and fixtures/ live), from dist/src/util/ or src/util/. */
export const PACKAGE_ROOT = findPackageRoot();

function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      readFileSync(path.join(dir, 'package.json'));
      return dir;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new Error('airlock: cannot find its package root');
}

export const SCHEMA_DIR = path.join(PACKAGE_ROOT, 'schema');

// Two instances: one lists every problem (configs, requests: a person fixes them all at once), one stops at the
// first (large untrusted documents: ajv collects all errors in memory, and a hostile manifest yields millions).
const ajv = newAjv(true);
const ajvFirst = newAjv(false);
const compiled = new Map<string, ValidateFunction>();
const compiledFirst = new Map<string, ValidateFunction>();

function newAjv(allErrors: boolean): Ajv2020 {
  const instance = new Ajv2020({ allErrors, strict: true, allowUnionTypes: true });
  addFormats(instance);
  // Every schema is registered by its $id up front so one schema can $ref another ("config.schema.json#/$defs/x").
  for (const file of readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.schema.json'))
    .sort()) {
    instance.addSchema(JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>);
  }
  return instance;
}

/** Load (once) and return the schema object of schema/NAME.schema.json, e.g. for fastify route schemas. */
export function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(SCHEMA_DIR, `${name}.schema.json`), 'utf8')) as Record<string, unknown>;
}

export function validatorFor(name: string, all = true): ValidateFunction {
  const cache = all ? compiled : compiledFirst;
  let v = cache.get(name);
  if (!v) {
    const id = loadSchema(name)['$id'];
    v = typeof id === 'string' ? (all ? ajv : ajvFirst).getSchema(id) : undefined;
    if (!v) throw new Error(`schema ${name} has no $id`);
    cache.set(name, v);
  }
  return v;
}

export interface SchemaProblem {
  /** JSON pointer-ish field, e.g. files/3/sha256 */
  field: string;
  message: string;
}

/** Validate `doc` against schema NAME; return every problem (empty when valid). */
export function schemaProblems(name: string, doc: unknown): SchemaProblem[] {
  const v = validatorFor(name);
  if (v(doc)) return [];
  return describeAjvErrors(v.errors ?? []);
}

/** The first problem of `doc` against schema NAME, or undefined when valid: bounded work on any input. */
export function firstSchemaProblem(name: string, doc: unknown): SchemaProblem | undefined {
  const v = validatorFor(name, false);
  if (v(doc)) return undefined;
  return describeAjvErrors(v.errors ?? [])[0] ?? { field: '(root)', message: 'is invalid' };
}

function describeAjvErrors(errors: ErrorObject[]): SchemaProblem[] {
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of errors) {
    // oneOf and if/then add an error of their own above the branch's; the branch's errors name the real field already.
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    let field = e.instancePath.replace(/^\//, '') || '(root)';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const p = e.params as { additionalProperty?: string; unevaluatedProperty?: string };
      const extra = p.additionalProperty ?? p.unevaluatedProperty ?? '';
      field = field === '(root)' ? extra : `${field}/${extra}`;
      message = 'is not a known field';
    }
    const key = `${field}: ${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ field, message });
    }
  }
  return out;
}
