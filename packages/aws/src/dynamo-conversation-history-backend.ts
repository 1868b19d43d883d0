import { randomUUID } from 'node:crypto';
import type { ConversationHistoryBackend, ConversationMessage } from '@soe/core';
import type { SoeTable } from './soe-table.js';
import { historyPk, nowMicros } from './table-keys.js';

/**
 * Conversation histories in DynamoDB: one item per message in the key's own partition (`H#<key>`), so
 * appends from concurrent agents never overwrite each other and a long conversation has no size limit.
 * Appends happen inside model nodes, so like the model call itself they are at-least-once.
 */
export class DynamoConversationHistoryBackend implements ConversationHistoryBackend {
  constructor(private readonly table: SoeTable) {}

  async getConversationHistory(key: string): Promise<ConversationMessage[]> {
    const items = await this.table.queryPartition(historyPk(key));
    return items.map((i) => JSON.parse(String(i.m)) as ConversationMessage);
  }

  async appendToConversationHistory(key: string, entry: ConversationMessage): Promise<void> {
    await this.table.put(this.item(key, entry));
  }

  async saveConversationHistory(key: string, history: ConversationMessage[]): Promise<void> {
    const old = await this.keys(key);
    await this.table.batchWrite(
      history.map((m) => this.item(key, m)),
      old,
    );
  }

  async deleteConversationHistory(key: string): Promise<void> {
    await this.table.batchWrite([], await this.keys(key));
  }

  private item(key: string, message: ConversationMessage) {
    return { pk: historyPk(key), sk: `${String(nowMicros()).padStart(17, '0')}#${randomUUID().slice(0, 8)}`, m: JSON.stringify(message) };
  }

  private async keys(key: string): Promise<Array<{ pk: string; sk: string }>> {
    const items = await this.table.queryPartition(historyPk(key), undefined, { ProjectionExpression: 'pk, sk' });
    return items.map((i) => ({ pk: String(i.pk), sk: String(i.sk) }));
  }
}
