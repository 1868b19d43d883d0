/** JSON Schema validation (ajv) with messages that name the field. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { JSONSchema } from './types.js';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
const byObject = new WeakMap<object, ValidateFunction>();
// Answer schemas are rebuilt per call: cache by content too, so ajv compiles each shape once.
const byText = new Map<string, ValidateFunction>();
const TEXT_CACHE_LIMIT = 2000;

function compiled(schema: JSONSchema): ValidateFunction {
  let v = byObject.get(schema);
  if (v) return v;
  const key = JSON.stringify(schema);
  v = byText.get(key);
  if (!v) {
    v = ajv.compile(schema);
    if (byText.size >= TEXT_CACHE_LIMIT) byText.delete(byText.keys().next().value as string);
    byText.set(key, v);
  }
  byObject.set(schema, v);
  return v;
}

/** One schema violation, with the dotted path of the field at fault. */
export interface SchemaProblem {
  field: string;
  message: string;
}

/** Validates a value against a JSON Schema (compiled once per schema object). Returns the problems found. */
export function validateAgainstSchema(schema: JSONSchema, value: unknown): SchemaProblem[] {
  const validate = compiled(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(toProblem);
}

function toProblem(e: ErrorObject): SchemaProblem {
  let field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') field = [field, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties')
    field = [field, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
  const message =
    e.keyword === 'required'
      ? 'is required but missing'
      : e.keyword === 'additionalProperties'
        ? 'is not an accepted parameter'
        : (e.message ?? 'is invalid');
  return { field, message };
}

/** Formats problems as one line. */
export function formatProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => (p.field ? `'${p.field}' ${p.message}` : p.message)).join('; ');
}
