import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { JSONSchema } from './types.js';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
const cache = new WeakMap<object, ValidateFunction>();

/** One schema violation, with the dotted path of the field at fault. */
export interface SchemaProblem {
  field: string;
  message: string;
}

/** Validates a value against a JSON Schema (compiled once per schema object). Returns the problems found. */
export function validateAgainstSchema(schema: JSONSchema, value: unknown): SchemaProblem[] {
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    cache.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(toProblem);
}

function toProblem(e: ErrorObject): SchemaProblem {
  let field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') field = [field, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties') field = [field, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
  const message =
    e.keyword === 'required' ? 'is required but missing'
    : e.keyword === 'additionalProperties' ? 'is not an accepted parameter'
    : (e.message ?? 'is invalid');
  return { field, message };
}

/** Formats problems as one line. */
export function formatProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => (p.field ? `'${p.field}' ${p.message}` : p.message)).join('; ');
}
