import type { ContextSchema, ContextSchemaBackend } from '@soe/core';
import { jsonMapFromItem } from './execution-records.js';
import { deleteMapEntry, putMapEntry } from './map-item.js';
import type { SoeTable } from './soe-table.js';
import { executionPk, SK } from './table-keys.js';

/**
 * Context schemas in DynamoDB: one item (`SCHEMA`) in the main execution's partition, a map of field
 * name → JSON Schema text, so the worker reads it with the execution and a field is changed alone.
 */
export class DynamoContextSchemaBackend implements ContextSchemaBackend {
  constructor(private readonly table: SoeTable) {}

  async saveContextSchema(executionId: string, schema: ContextSchema): Promise<void> {
    const m: Record<string, string> = {};
    for (const [field, def] of Object.entries(schema)) m[field] = JSON.stringify(def);
    await this.table.put({ pk: executionPk(executionId), sk: SK.schema, m });
  }

  async getContextSchema(executionId: string): Promise<ContextSchema | null> {
    return jsonMapFromItem<Record<string, unknown>>(await this.table.get(executionPk(executionId), SK.schema));
  }

  async putContextSchemaField(executionId: string, field: string, definition: Record<string, unknown>): Promise<void> {
    await putMapEntry(this.table, executionPk(executionId), SK.schema, field, JSON.stringify(definition));
  }

  async deleteContextSchemaField(executionId: string, field: string): Promise<boolean> {
    return deleteMapEntry(this.table, executionPk(executionId), SK.schema, field);
  }

  async deleteContextSchema(executionId: string): Promise<boolean> {
    return this.table.delete(executionPk(executionId), SK.schema, 'attribute_exists(pk)');
  }
}
