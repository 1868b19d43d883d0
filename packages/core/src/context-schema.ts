/** JSON Schemas of context fields, from a config's `context_schema`. */
import type { ContextSchema, JSONSchema } from './types.js';

const TYPE_MAP: Record<string, string | undefined> = {
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  object: 'object',
  dict: 'object',
  list: 'array',
  array: 'array',
  any: undefined,
};

/**
 * The JSON Schema of one `context_schema` field: its type, with nested `properties` / `items` where
 * the field gives them, and its `description`.
 */
export function fieldJsonSchema(def: Record<string, unknown>): JSONSchema {
  const out: JSONSchema = {};
  const type = typeof def.type === 'string' ? TYPE_MAP[def.type] : undefined;
  if (type) out.type = type;
  if (typeof def.description === 'string') out.description = def.description;
  if (def.properties && typeof def.properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(def.properties as Record<string, unknown>).map(([k, v]) => [
        k,
        fieldJsonSchema(typeof v === 'string' ? { type: v } : (v as Record<string, unknown>)),
      ]),
    );
    if (Array.isArray(def.required)) out.required = def.required;
  }
  if (def.items !== undefined)
    out.items = fieldJsonSchema(typeof def.items === 'string' ? { type: def.items } : (def.items as Record<string, unknown>));
  if (Array.isArray(def.enum)) out.enum = def.enum;
  return out;
}

/** The JSON Schema for `field` under a context schema, or undefined when the schema does not type it. */
export function schemaForField(schema: ContextSchema | null | undefined, field: string | undefined): JSONSchema | undefined {
  if (!schema || !field) return undefined;
  const def = schema[field];
  return def ? fieldJsonSchema(def) : undefined;
}
