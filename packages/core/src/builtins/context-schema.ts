/**
 * Built-ins over the context schema (the types that validate llm and agent output):
 * soe_get_context_schema, soe_inject_context_schema_field, soe_remove_context_schema_field.
 * The schema belongs to the main execution; each change is one putContextSchemaField /
 * deleteContextSchemaField call. An injected field is checked like a `context_schema` entry of a config.
 */
import { checkSchemaField } from '../config.js';
import { fieldJsonSchema } from '../context-schema.js';
import type { ToolContext } from '../nodes/types.js';
import { validateAgainstSchema } from '../schema-validation.js';
import type { ContextSchemaBackend } from '../types.js';
import { type BuiltinSpec, fail, isReserved, logChange, nameList, optionalString, parseStructured, requireName } from './shared.js';

function schemaBackend(ctx: ToolContext): ContextSchemaBackend {
  const backend = ctx.backends.contextSchema;
  if (!backend) fail('this engine has no context schema backend, so the context schema cannot be read or changed');
  return backend;
}

const getContextSchema: BuiltinSpec = {
  description:
    'Returns the context schema of this run: field name → definition ({type, description, …}). With field_name, that field as ' +
    '{field_name, definition}.',
  parameters: {
    type: 'object',
    properties: { field_name: { type: 'string', description: 'Return only this field (optional).' } },
  },
  async run(args, ctx) {
    const schema = (await ctx.backends.contextSchema?.getContextSchema(ctx.mainExecutionId)) ?? {};
    const one = optionalString(args, 'field_name');
    if (one === undefined) return schema;
    if (!Object.hasOwn(schema, one)) return { error: `field '${one}' not found in the context schema`, available: Object.keys(schema) };
    return { field_name: one, definition: schema[one] };
  },
};

const injectField: BuiltinSpec = {
  description:
    'Adds a field to the context schema, or replaces its definition. field_definition is YAML or JSON text (or an object) such as ' +
    '{"type": "string", "description": "…"}; type is one of string, integer, number, boolean, object, list, array, dict, any.',
  parameters: {
    type: 'object',
    properties: {
      field_name: { type: 'string', description: 'The context field to type.' },
      field_definition: { type: ['string', 'object'], description: 'The definition as YAML or JSON text, or an object.' },
    },
    required: ['field_name', 'field_definition'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'field_name');
    if (isReserved(name)) fail(`'field_name': fields starting with __ belong to the engine`);
    const raw = parseStructured(args.field_definition, 'field_definition');
    const problem = checkSchemaField(raw);
    if (problem) fail(`context_schema field '${name}': ${problem}`);
    const definition = typeof raw === 'string' ? { type: raw } : (raw as Record<string, unknown>);
    try {
      // Compiles the JSON Schema the llm node will use, so a broken definition fails now, not mid-run.
      validateAgainstSchema(fieldJsonSchema(definition), null);
    } catch (e) {
      fail(
        `context_schema field '${name}': the definition does not make a usable JSON Schema: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const backend = schemaBackend(ctx);
    const existed = Object.hasOwn((await backend.getContextSchema(ctx.mainExecutionId)) ?? {}, name);
    await backend.putContextSchemaField(ctx.mainExecutionId, name, definition);
    const action = existed ? 'updated' : 'created';
    await logChange(ctx, 'soe_inject_context_schema_field', { field_name: name, action });
    return { success: true, field_name: name, action, message: `${existed ? 'Updated' : 'Created'} context schema field '${name}'` };
  },
};

const removeField: BuiltinSpec = {
  description: 'Removes a field from the context schema: its output is no longer type-checked.',
  parameters: {
    type: 'object',
    properties: { field_name: { type: 'string', description: 'The field to remove.' } },
    required: ['field_name'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'field_name');
    const backend = schemaBackend(ctx);
    if (!(await backend.deleteContextSchemaField(ctx.mainExecutionId, name))) {
      const known = Object.keys((await backend.getContextSchema(ctx.mainExecutionId)) ?? {});
      fail(`field '${name}' not found in the context schema (fields: ${nameList(known)})`);
    }
    await logChange(ctx, 'soe_remove_context_schema_field', { field_name: name, action: 'removed' });
    return { success: true, removed: true, field_name: name, message: `Removed field '${name}' from the context schema` };
  },
};

/** The context schema built-ins by name. */
export const contextSchemaBuiltins: Record<string, BuiltinSpec> = {
  soe_get_context_schema: getContextSchema,
  soe_inject_context_schema_field: injectField,
  soe_remove_context_schema_field: removeField,
};
