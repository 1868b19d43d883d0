/** The request counter against the emulators: requests, item sizes, write and read units, SQS billing chunks. */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestCounter, type LocalEmulators, SoeTable, startLocalEmulators } from '../src/index.js';
import { itemSize } from '../src/local/request-counter.js';

describe('request counter', () => {
  let em: LocalEmulators;
  beforeAll(async () => {
    em = await startLocalEmulators();
  });
  afterAll(async () => {
    await em?.close();
  });

  it('sizes items as DynamoDB does, in AttributeValue and plain form alike', () => {
    // names + values: strings in UTF-8, numbers by digits, 1 for booleans and null, 3 + 1 per element for lists and maps
    expect(itemSize({ pk: 'E#1', s: 'é', n: 12345, b: true, z: null })).toBe(2 + 3 + 1 + 2 + 1 + 4 + 1 + 1 + 1 + 1);
    expect(itemSize({ pk: { S: 'E#1' }, n: { N: '12345' }, l: { L: [{ S: 'ab' }] }, m: { M: { k: { BOOL: true } } } })).toBe(
      2 + 3 + 1 + 4 + 1 + (3 + 1 + 2) + 1 + (3 + 1 + 1 + 1),
    );
    expect(itemSize({ l: ['ab'], m: { k: true } })).toBe(1 + (3 + 1 + 2) + 1 + (3 + 1 + 1 + 1));
    expect(itemSize({ b: new Uint8Array(5000) })).toBe(5001);
    expect(itemSize({ b: { B: new Uint8Array(5000) } })).toBe(5001);
  });

  it('counts DynamoDB requests, item bytes, write units per started KB and read units per started 4 KB', async () => {
    const counter = createRequestCounter();
    counter.attach(em.dynamo);
    const table = new SoeTable({ client: em.dynamo, tableName: em.tableName });
    const item = (sk: string) => ({ pk: 'P#count', sk, v: 'x'.repeat(2000) }); // 2 + 7 + 2 + 3 + 1 + 2000 = 2015 bytes
    for (const sk of ['a#1', 'a#2', 'a#3']) await table.put(item(sk));
    let c = counter.counts().dynamodb;
    expect(c.byOperation).toEqual({ PutItem: 3 });
    expect(c.itemBytesWritten).toBe(3 * 2015);
    expect(c.writeUnits).toBe(3 * 2); // 2015 bytes: two started KB each
    expect(c.bytesWritten).toBeGreaterThan(c.itemBytesWritten); // request bodies carry JSON and the table name

    counter.reset();
    expect(await table.get('P#count', 'a#1')).toMatchObject({ sk: 'a#1' });
    expect(await table.get('P#count', 'missing')).toBeUndefined();
    expect(await table.queryPartition('P#count')).toHaveLength(3);
    await table.queryPartition('P#count', undefined, { ConsistentRead: false });
    c = counter.counts().dynamodb;
    expect(c.byOperation).toEqual({ GetItem: 2, Query: 2 });
    expect(c.bytesRead).toBe(2015 + 0 + 3 * 2015 + 3 * 2015);
    // Get: 1 + 1 (a miss still costs one); strongly consistent Query of 6045 bytes: 2; eventually consistent: 1.
    expect(c.readUnits).toBe(1 + 1 + 2 + 1);
    expect(c.writeUnits).toBe(0);
  });

  it('counts SQS requests, empty receives and billed 64 KB chunks', async () => {
    const counter = createRequestCounter();
    counter.attach(em.sqs);
    const QueueUrl = em.delayQueueUrl;
    await em.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'y'.repeat(70 * 1024) }));
    await em.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'small' }));
    let got = 0;
    const handles: string[] = [];
    for (let i = 0; i < 20 && got < 2; i++) {
      const r = await em.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of r.Messages ?? []) handles.push(m.ReceiptHandle!);
      got += r.Messages?.length ?? 0;
    }
    for (const ReceiptHandle of handles) await em.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));
    const beforeEmpty = counter.counts().sqs;
    await em.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    const c = counter.counts().sqs;
    expect(c.messagesSent).toBe(2);
    expect(c.byOperation.SendMessage).toBe(2);
    expect(c.byOperation.DeleteMessage).toBe(2);
    expect(c.emptyReceives).toBe(beforeEmpty.emptyReceives + 1);
    const receives = beforeEmpty.byOperation.ReceiveMessage!;
    // sends: 2 + 1; receives: each non-empty one at least 1, the 70 KB body one more; deletes: 2; the last empty receive: 1.
    expect(c.billedRequests).toBe(3 + receives + 1 + 2 + 1);
    expect(c.requests).toBe(2 + receives + 2 + 1);
  });
});
