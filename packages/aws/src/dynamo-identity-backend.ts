import type { Identities, IdentityBackend } from '@soe/core';
import { deleteMapEntry, putMapEntry } from './map-item.js';
import type { SoeTable } from './soe-table.js';
import { executionPk, SK } from './table-keys.js';

/**
 * Identities (system prompts) in DynamoDB: one item (`IDENT`) in the main execution's partition, a map
 * of identity name → prompt, read with the execution by the worker; one identity is changed alone.
 */
export class DynamoIdentityBackend implements IdentityBackend {
  constructor(private readonly table: SoeTable) {}

  async saveIdentities(executionId: string, identities: Identities): Promise<void> {
    await this.table.put({ pk: executionPk(executionId), sk: SK.identities, m: { ...identities } });
  }

  async getIdentities(executionId: string): Promise<Identities | null> {
    const item = await this.table.get(executionPk(executionId), SK.identities);
    return item ? { ...((item.m ?? {}) as Identities) } : null;
  }

  async getIdentity(executionId: string, name: string): Promise<string | null> {
    const value = (await this.getIdentities(executionId))?.[name];
    return typeof value === 'string' ? value : null;
  }

  async putIdentity(executionId: string, name: string, systemPrompt: string): Promise<void> {
    await putMapEntry(this.table, executionPk(executionId), SK.identities, name, systemPrompt);
  }

  async deleteIdentity(executionId: string, name: string): Promise<boolean> {
    return deleteMapEntry(this.table, executionPk(executionId), SK.identities, name);
  }

  async deleteIdentities(executionId: string): Promise<boolean> {
    return this.table.delete(executionPk(executionId), SK.identities, 'attribute_exists(pk)');
  }
}
