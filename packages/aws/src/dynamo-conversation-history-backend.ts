/** Conversation histories of model nodes in DynamoDB: one item per message under `H#<key>`. */
import { randomUUID } from 'node:crypto';
import type { ConversationHistoryBackend, ConversationMessage } from '@soe/core';
import { decodePayload, hasEncodedPayload, recordItems, type SoeTable, type TableItem } from './soe-table.js';
import { historyPk, nowMicros, SK } from './table-keys.js';

/**
 * Conversation histories in DynamoDB: one record per message in the key's own partition (`H#<key>`), so
 * appends from concurrent agents never overwrite each other and a long conversation has no size limit.
 * A message goes through the chunking codec, so one message (a 450 KB rendered prompt) may be larger
 * than an item. Appends happen inside model nodes, so like the model call itself they are at-least-once.
 */
export class DynamoConversationHistoryBackend implements ConversationHistoryBackend {
  constructor(private readonly table: SoeTable) {}

  async getConversationHistory(key: string): Promise<ConversationMessage[]> {
    const items = await this.table.queryPartition(historyPk(key));
    const bySk = new Map(items.map((i) => [String(i.sk), i]));
    return items.filter((i) => !String(i.sk).startsWith(SK.chunk)).map((i) => messageOf(i, (sk) => bySk.get(sk)));
  }

  async appendToConversationHistory(key: string, entry: ConversationMessage): Promise<void> {
    const items = this.items(key, entry);
    // Chunks first, the message last: a reader never meets a message without its chunks.
    if (items.length > 1) await this.table.batchWrite(items.slice(0, -1));
    await this.table.put(items[items.length - 1]!);
  }

  async saveConversationHistory(key: string, history: ConversationMessage[]): Promise<void> {
    const old = await this.keys(key);
    await this.table.batchWrite(
      history.flatMap((m) => this.items(key, m)),
      old,
    );
  }

  async deleteConversationHistory(key: string): Promise<void> {
    await this.table.batchWrite([], await this.keys(key));
  }

  private items(key: string, message: ConversationMessage): TableItem[] {
    return recordItems({ pk: historyPk(key), sk: `${String(nowMicros()).padStart(17, '0')}#${randomUUID().slice(0, 8)}` }, message);
  }

  private async keys(key: string): Promise<Array<{ pk: string; sk: string }>> {
    const items = await this.table.queryPartition(historyPk(key), undefined, { ProjectionExpression: 'pk, sk' });
    return items.map((i) => ({ pk: String(i.pk), sk: String(i.sk) }));
  }
}

/** A stored message: encoded by the codec, or (older layout) a JSON string in `m`. */
function messageOf(item: TableItem, chunkOf: (sk: string) => TableItem | undefined): ConversationMessage {
  return hasEncodedPayload(item) ? decodePayload<ConversationMessage>(item, chunkOf) : (JSON.parse(String(item.m)) as ConversationMessage);
}
