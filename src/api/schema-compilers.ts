// fastify validates requests and serialises responses with airlock's own 2020-12 schemas (schema/*.schema.json).
// Fastify's bundled ajv speaks draft-07, so both compilers are replaced by Ajv2020 instances holding every schema.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { SCHEMA_DIR } from '../util/schemas.js';

type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats = (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export const API_SCHEMA_ID = 'https://airlock.local/schema/api.schema.json';

/** `{ $ref }` to a definition of schema/api.schema.json, for route schemas. */
export function apiRef(def: string): { $ref: string } {
  return { $ref: `${API_SCHEMA_ID}#/$defs/${def}` };
}

function newAjv(opts: { coerceTypes: boolean | 'array' }): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes: opts.coerceTypes });
  addFormats(ajv);
  for (const file of readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.schema.json'))
    .sort()) {
    ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>);
  }
  return ajv;
}

export class SchemaResponseError extends Error {
  constructor(
    readonly url: string,
    readonly problems: string,
  ) {
    super(`response of ${url} does not match its schema: ${problems}`);
  }
}

export function useAirlockSchemas(app: FastifyInstance): void {
  // Query strings and params arrive as text: coerce them ("?limit=5" → 5). Bodies and responses are JSON and checked as they are.
  const textAjv = newAjv({ coerceTypes: 'array' });
  const jsonAjv = newAjv({ coerceTypes: false });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const validate = (httpPart === 'body' ? jsonAjv : textAjv).compile(schema as object);
    // Bodies are optional on every airlock route: fastify passes null when none was sent.
    const fn = (data: unknown) => (httpPart === 'body' && (data === undefined || data === null) ? true : validate(data));
    Object.defineProperty(fn, 'errors', { get: () => validate.errors });
    return fn as unknown as ValidateFunction;
  });
  app.setSerializerCompiler(({ schema, url }) => {
    const validate = jsonAjv.compile(schema as object);
    // A response that drifts from its published schema is a bug: answer 500 rather than undocumented JSON.
    return (data: unknown) => {
      if (!validate(data)) {
        throw new SchemaResponseError(url, jsonAjv.errorsText(validate.errors));
      }
      return JSON.stringify(data);
    };
  });
}
