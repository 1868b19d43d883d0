/** Identities (system prompts) of a run in DynamoDB (the main execution's `IDENT` record). */
import type { Identities, IdentityBackend } from '@soe/core';
import type { SoeTable } from './soe-table.js';
import { identitiesFromItem, legacyIdentities } from './stored-config.js';
import { executionPk, SK } from './table-keys.js';

/**
 * Identities (system prompts) in DynamoDB: one record (`IDENT`) in the main execution's partition,
 * read with the execution by the worker. Its payload goes through the chunking codec, so long system
 * prompts are not bound by the 400 KB item limit; one identity is changed by compare-and-swap, so two
 * writers changing different identities keep each other's.
 */
export class DynamoIdentityBackend implements IdentityBackend {
  constructor(private readonly table: SoeTable) {}

  async saveIdentities(executionId: string, identities: Identities): Promise<void> {
    await this.table.changeRecord<Identities>(executionPk(executionId), SK.identities, legacyIdentities, () => ({ ...identities }));
  }

  async getIdentities(executionId: string): Promise<Identities | null> {
    const item = await this.table.get(executionPk(executionId), SK.identities);
    if (!item) return null;
    return typeof item.cn === 'string' ? { ...(await this.table.payloadOf<Identities>(item)) } : identitiesFromItem(item);
  }

  async getIdentity(executionId: string, name: string): Promise<string | null> {
    const value = (await this.getIdentities(executionId))?.[name];
    return typeof value === 'string' ? value : null;
  }

  async putIdentity(executionId: string, name: string, systemPrompt: string): Promise<void> {
    await this.table.changeRecord<Identities>(executionPk(executionId), SK.identities, legacyIdentities, (current) => ({
      ...(current ?? {}),
      [name]: systemPrompt,
    }));
  }

  async deleteIdentity(executionId: string, name: string): Promise<boolean> {
    return this.table.changeRecord<Identities>(executionPk(executionId), SK.identities, legacyIdentities, (current) => {
      if (!current || !Object.hasOwn(current, name)) return undefined;
      const { [name]: _gone, ...rest } = current;
      return rest;
    });
  }

  async deleteIdentities(executionId: string): Promise<boolean> {
    return this.table.deleteRecord(executionPk(executionId), SK.identities);
  }
}
