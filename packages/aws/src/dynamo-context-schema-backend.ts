/** The context schema of a run in DynamoDB (the main execution's `SCHEMA` record). */
import type { ContextSchema, ContextSchemaBackend } from '@soe/core';
import type { SoeTable } from './soe-table.js';
import { contextSchemaFromItem, legacyContextSchema } from './stored-config.js';
import { executionPk, SK } from './table-keys.js';

/**
 * Context schemas in DynamoDB: one record (`SCHEMA`) in the main execution's partition, read with the
 * execution by the worker. Its payload goes through the chunking codec (no 400 KB item limit); a field
 * is changed by compare-and-swap, so two writers changing different fields keep each other's.
 */
export class DynamoContextSchemaBackend implements ContextSchemaBackend {
  constructor(private readonly table: SoeTable) {}

  async saveContextSchema(executionId: string, schema: ContextSchema): Promise<void> {
    await this.table.changeRecord<ContextSchema>(executionPk(executionId), SK.schema, legacyContextSchema, () => structuredClone(schema));
  }

  async getContextSchema(executionId: string): Promise<ContextSchema | null> {
    const item = await this.table.get(executionPk(executionId), SK.schema);
    if (!item) return null;
    return typeof item.cn === 'string' ? { ...(await this.table.payloadOf<ContextSchema>(item)) } : contextSchemaFromItem(item);
  }

  async putContextSchemaField(executionId: string, field: string, definition: Record<string, unknown>): Promise<void> {
    await this.table.changeRecord<ContextSchema>(executionPk(executionId), SK.schema, legacyContextSchema, (current) => ({
      ...(current ?? {}),
      [field]: structuredClone(definition),
    }));
  }

  async deleteContextSchemaField(executionId: string, field: string): Promise<boolean> {
    return this.table.changeRecord<ContextSchema>(executionPk(executionId), SK.schema, legacyContextSchema, (current) => {
      if (!current || !Object.hasOwn(current, field)) return undefined;
      const { [field]: _gone, ...rest } = current;
      return rest;
    });
  }

  async deleteContextSchema(executionId: string): Promise<boolean> {
    return this.table.deleteRecord(executionPk(executionId), SK.schema);
  }
}
