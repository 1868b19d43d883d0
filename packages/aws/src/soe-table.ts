/**
 * The runtime's access to its DynamoDB table: paged partition reads, conditional puts, batch writes,
 * and the payload codec that lets one logical record outgrow DynamoDB's 400 KB item limit.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TABLE_TTL_ATTRIBUTE } from './env-contract.js';
import { ContentionError, InconsistentReadError } from './errors.js';
import { SK } from './table-keys.js';

/** A stored item as the document client returns it. */
export type TableItem = Record<string, unknown>;

/** Payloads up to this many bytes stay inline; the rest of the item (keys, ord, flags) fits in what is left of 400 KB. */
export const INLINE_PAYLOAD_BYTES = 350_000;
/** Size of one chunk item's payload slice. */
export const CHUNK_BYTES = 350_000;
/**
 * Payloads from this size on are stored deflated when that is smaller: bytes written are what DynamoDB
 * bills, by the started KB, and a node run's commit (its appends, emitted signals and telemetry with the
 * step's inputs and outputs) is often just over 1 KB as JSON and well under it deflated.
 */
export const COMPRESS_MIN_BYTES = 512;

/** The table's TTL attribute (epoch seconds): DynamoDB deletes an item some time after it passes. */
export { TABLE_TTL_ATTRIBUTE };

/** Options of {@link SoeTable}. */
export interface SoeTableOptions {
  /** A DynamoDB client (a document client is built on it) or a document client. */
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  /**
   * Days every item written through this table is kept: each write stamps `ttl` (epoch seconds, now +
   * this many days) unless the item already carries an earlier one. Unset: items are kept for ever
   * (telemetry still gets its own TTL). Count from each write, so keep it longer than a run lasts.
   */
  retentionDays?: number;
}

/** True when an error is DynamoDB's failed write condition. */
export function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** A record's payload, encoded for storage: inline attributes plus chunk items written before it. */
export interface EncodedPayload {
  attributes: TableItem;
  chunks: TableItem[];
}

/**
 * DynamoDB I/O of the runtime. Every read of an execution is strongly consistent: a worker must see the
 * commit a duplicate delivery just wrote, or it would run the node again.
 */
export class SoeTable {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Seconds an item is kept after it is written, when a retention is set. */
  readonly retentionSeconds: number | undefined;

  constructor(opts: SoeTableOptions) {
    this.tableName = opts.tableName;
    if (opts.retentionDays !== undefined) {
      if (!Number.isFinite(opts.retentionDays) || opts.retentionDays <= 0)
        throw new RangeError(`retentionDays must be a positive number of days, got ${opts.retentionDays}`);
      this.retentionSeconds = Math.round(opts.retentionDays * 86_400);
    }
    this.doc =
      opts.client instanceof DynamoDBDocumentClient
        ? opts.client
        : DynamoDBDocumentClient.from(opts.client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
  }

  /** The TTL a write made now gets, or undefined without a retention. */
  expiresAt(): number | undefined {
    return this.retentionSeconds === undefined ? undefined : Math.floor(Date.now() / 1000) + this.retentionSeconds;
  }

  /**
   * The item with the retention's TTL: every write path goes through here, so no item of an execution
   * is forgotten. An earlier TTL the item already has (telemetry's own) is kept.
   */
  stamp<T extends TableItem>(item: T): T {
    const ttl = this.expiresAt();
    if (ttl === undefined) return item;
    const own = item[TABLE_TTL_ATTRIBUTE];
    return typeof own === 'number' && own < ttl ? item : { ...item, [TABLE_TTL_ATTRIBUTE]: ttl };
  }

  /** An UpdateItem input that also sets the retention's TTL (the item may be created by the update). */
  private stampUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Omit<UpdateCommandInput, 'TableName'> {
    const ttl = this.expiresAt();
    if (ttl === undefined) return input;
    const expr = input.UpdateExpression ?? '';
    const set = '#soeTtl = :soeTtl';
    const at = /\bSET\b/i.exec(expr);
    return {
      ...input,
      UpdateExpression: at ? `${expr.slice(0, at.index + 3)} ${set},${expr.slice(at.index + 3)}` : `SET ${set} ${expr}`,
      ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#soeTtl': TABLE_TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':soeTtl': ttl },
    };
  }

  /** Every item of a partition (optionally under a sort-key prefix), in sort-key order, all pages. */
  async queryPartition(pk: string, skPrefix?: string, extra: Partial<QueryCommandInput> = {}): Promise<TableItem[]> {
    const out: TableItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: skPrefix ? 'pk = :pk AND begins_with(sk, :p)' : 'pk = :pk',
          ExpressionAttributeValues: skPrefix ? { ':pk': pk, ':p': skPrefix } : { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...extra,
        }),
      );
      if (res.Items) out.push(...res.Items);
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** One item, strongly consistent, or undefined. */
  async get(pk: string, sk: string): Promise<TableItem | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }));
    return res.Item;
  }

  /** Decodes a record read on its own (not with its partition): fetches its chunks when it has any. */
  async payloadOf<T>(item: TableItem): Promise<T> {
    if (typeof item.cn !== 'string') return decodePayload<T>(item, () => undefined);
    const prefix = `${SK.chunk}${String(item.sk)}#${item.cn}#`;
    const chunks = new Map((await this.queryPartition(String(item.pk), prefix)).map((c) => [String(c.sk), c]));
    return decodePayload<T>(item, (sk) => chunks.get(sk));
  }

  /** Writes an item unconditionally. */
  async put(item: TableItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.stamp(item) }));
  }

  /**
   * Writes an item only if its key is free. Resolves false when another writer got there first: that
   * is how a duplicate delivery learns that the run it repeated is already committed.
   */
  async putIfAbsent(item: TableItem): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: this.stamp(item), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** An UpdateItem; resolves false when its condition failed. */
  async update(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, ...this.stampUpdate(input) }));
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Adds `n` to a number attribute of an item (created at 0 when absent) with one UpdateItem, and resolves to its new value. */
  async addToCounter(pk: string, sk: string, attribute: string, n: number): Promise<number> {
    const res = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        ...this.stampUpdate({
          Key: { pk, sk },
          UpdateExpression: 'ADD #n :n',
          ExpressionAttributeNames: { '#n': attribute },
          ExpressionAttributeValues: { ':n': n },
        }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(res.Attributes?.[attribute] ?? 0);
  }

  /** Deletes an item; resolves false when `condition` failed. */
  async delete(pk: string, sk: string, condition?: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk, sk }, ...(condition ? { ConditionExpression: condition } : {}) }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Writes (or deletes) items 25 at a time, retrying what DynamoDB leaves unprocessed. */
  async batchWrite(puts: TableItem[], deletes: Array<{ pk: string; sk: string }> = []): Promise<void> {
    const requests: Array<Record<string, unknown>> = [
      ...puts.map((Item) => ({ PutRequest: { Item: this.stamp(Item) } })),
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
    ];
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let attempt = 0; pending.length; attempt++) {
        if (attempt > 8) throw new ContentionError('BatchWriteItem left items unprocessed after 8 retries');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
        pending = (res.UnprocessedItems?.[this.tableName] as Array<Record<string, unknown>> | undefined) ?? [];
      }
    }
  }

  /**
   * Writes a record whose payload may be large: the chunks first (under a fresh nonce, so two writers
   * racing for the same record never overwrite each other's chunks), then the record itself — with
   * `attribute_not_exists` when `ifAbsent`. The record is the commit point: chunks without their record
   * are never read. Resolves false when `ifAbsent` and the record already existed.
   */
  async putRecord(item: TableItem, payload: unknown, opts: { ifAbsent: boolean }): Promise<boolean> {
    const encoded = encodePayload(String(item.pk), String(item.sk), payload);
    if (encoded.chunks.length) await this.batchWrite(encoded.chunks);
    const full = { ...item, ...encoded.attributes };
    if (!opts.ifAbsent) {
      await this.put(full);
      return true;
    }
    const written = await this.putIfAbsent(full);
    if (!written && encoded.chunks.length) {
      // Lost the race: our chunks are orphans. Remove them (best effort; they are never read anyway).
      await this.batchWrite(
        [],
        encoded.chunks.map((c) => ({ pk: String(c.pk), sk: String(c.sk) })),
      ).catch(() => undefined);
    }
    return written;
  }

  /**
   * Reads a record and decodes its payload; `legacy` decodes items of an older layout (plain map
   * attributes). Resolves undefined when there is no item.
   */
  async readRecord<T>(pk: string, sk: string, legacy: (item: TableItem) => T): Promise<{ item: TableItem; value: T } | undefined> {
    const item = await this.get(pk, sk);
    if (!item) return undefined;
    return { item, value: hasEncodedPayload(item) ? await this.payloadOf<T>(item) : legacy(item) };
  }

  /**
   * Changes a record by compare-and-swap, so it may outgrow one item and concurrent writers keep each
   * other's changes: reads it, applies `change` to its value (undefined: no record), writes the result
   * through the payload codec on condition that nobody rewrote the record meanwhile (its version `rv`),
   * and starts again from the read when somebody did. `change` returns undefined to leave the record
   * alone. Resolves true when it wrote.
   */
  async changeRecord<T>(
    pk: string,
    sk: string,
    legacy: (item: TableItem) => T,
    change: (current: T | undefined) => T | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 5)));
      const current = await this.readRecord<T>(pk, sk, legacy);
      const next = change(current ? structuredClone(current.value) : undefined);
      if (next === undefined) return false;
      const old = current?.item;
      const encoded = encodePayload(pk, sk, next);
      if (encoded.chunks.length) await this.batchWrite(encoded.chunks);
      const version = typeof old?.rv === 'number' ? old.rv : 0;
      const condition = !old
        ? 'attribute_not_exists(pk)'
        : typeof old.rv === 'number'
          ? 'rv = :rv'
          : 'attribute_exists(pk) AND attribute_not_exists(rv)';
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: this.stamp({ pk, sk, ...encoded.attributes, rv: version + 1 }),
            ConditionExpression: condition,
            ...(typeof old?.rv === 'number' ? { ExpressionAttributeValues: { ':rv': old.rv } } : {}),
          }),
        );
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        // Somebody else rewrote it: our chunks are orphans; read again and re-apply the change.
        if (encoded.chunks.length)
          await this.batchWrite(
            [],
            encoded.chunks.map((c) => ({ pk, sk: String(c.sk) })),
          ).catch(() => undefined);
        continue;
      }
      // The old version's chunks are never read again (best effort: they are not read by mistake either).
      if (old && chunkKeysOf(old).length) await this.batchWrite([], chunkKeysOf(old)).catch(() => undefined);
      return true;
    }
    throw new ContentionError(`could not change ${pk}/${sk}: too much contention`);
  }

  /** Deletes a record and its chunks; resolves false when there was none. */
  async deleteRecord(pk: string, sk: string): Promise<boolean> {
    const item = await this.get(pk, sk);
    if (!item) return false;
    if (!(await this.delete(pk, sk, 'attribute_exists(pk)'))) return false;
    if (chunkKeysOf(item).length) await this.batchWrite([], chunkKeysOf(item)).catch(() => undefined);
    return true;
  }
}

/** True when an item holds a payload written by {@link encodePayload} (not an older layout). */
export function hasEncodedPayload(item: TableItem): boolean {
  return typeof item.d === 'string' || item.dz instanceof Uint8Array || typeof item.cn === 'string';
}

/** Keys of the chunk items an encoded record points to. */
export function chunkKeysOf(item: TableItem): Array<{ pk: string; sk: string }> {
  if (typeof item.cn !== 'string' || typeof item.ch !== 'number') return [];
  return Array.from({ length: item.ch }, (_, n) => ({ pk: String(item.pk), sk: chunkSk(String(item.sk), item.cn as string, n) }));
}

/** The items that store a record with its payload: chunks first, the record (version 1) last. */
export function recordItems(item: TableItem, payload: unknown): TableItem[] {
  const encoded = encodePayload(String(item.pk), String(item.sk), payload);
  return [...encoded.chunks, { ...item, ...encoded.attributes, rv: 1 }];
}

/**
 * Encodes a payload as JSON — deflated when it is large enough to be worth it — inline when it fits,
 * else as chunk items `X#<owner sk>#<nonce>#<n>` that the record points to.
 */
export function encodePayload(pk: string, sk: string, payload: unknown): EncodedPayload {
  const json = JSON.stringify(payload ?? null);
  const jsonBytes = Buffer.byteLength(json);
  if (jsonBytes < COMPRESS_MIN_BYTES) return { attributes: { d: json }, chunks: [] };
  const packed = deflateRawSync(Buffer.from(json));
  if (packed.length >= jsonBytes) return { attributes: { d: json }, chunks: [] };
  if (packed.length <= INLINE_PAYLOAD_BYTES) return { attributes: { dz: packed }, chunks: [] };
  const nonce = randomUUID().slice(0, 8);
  const chunks: TableItem[] = [];
  for (let off = 0, n = 0; off < packed.length; off += CHUNK_BYTES, n++) {
    chunks.push({ pk, sk: chunkSk(sk, nonce, n), c: packed.subarray(off, off + CHUNK_BYTES) });
  }
  return { attributes: { cn: nonce, ch: chunks.length }, chunks };
}

/** Sort key of a payload chunk. */
export function chunkSk(ownerSk: string, nonce: string, n: number): string {
  return `${SK.chunk}${ownerSk}#${nonce}#${String(n).padStart(4, '0')}`;
}

/**
 * Decodes a record's payload. `chunkOf` finds chunk items (from the same partition read). Throws when
 * a chunk is missing, which cannot happen for a committed record since chunks are written first.
 */
export function decodePayload<T>(item: TableItem, chunkOf: (sk: string) => TableItem | undefined): T {
  if (typeof item.d === 'string') return JSON.parse(item.d) as T;
  if (item.dz instanceof Uint8Array) return JSON.parse(inflateRawSync(item.dz).toString('utf8')) as T;
  if (typeof item.cn === 'string' && typeof item.ch === 'number') {
    const parts: Uint8Array[] = [];
    for (let n = 0; n < item.ch; n++) {
      const chunk = chunkOf(chunkSk(String(item.sk), item.cn, n));
      if (!chunk || !(chunk.c instanceof Uint8Array)) {
        // Transient: a record rewritten between two reads (an injected node) leaves the old chunks behind.
        throw new InconsistentReadError(`record '${String(item.sk)}' of '${String(item.pk)}' misses payload chunk ${n}`);
      }
      parts.push(chunk.c);
    }
    return JSON.parse(inflateRawSync(Buffer.concat(parts)).toString('utf8')) as T;
  }
  return undefined as T;
}

/** Byte size of a payload once stored (for size checks and the request counter's reports). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}
