/** The payload codec of soe-table.ts: inline JSON, deflated, or split into chunk items under the 400 KB item limit. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InconsistentReadError } from '../src/errors.js';
import { chunkSk, decodePayload, encodePayload } from '../src/soe-table.js';

describe('payload encoding', () => {
  const roundTrip = (payload: unknown) => {
    const { attributes, chunks } = encodePayload('E#x', 'C#R#b#N', payload);
    const bySk = new Map(chunks.map((c) => [String(c.sk), c]));
    return { decoded: decodePayload({ pk: 'E#x', sk: 'C#R#b#N', ...attributes }, (sk) => bySk.get(sk)), attributes, chunks };
  };

  it('keeps small payloads inline as JSON text', () => {
    const { decoded, attributes, chunks } = roundTrip({ u: { fields: { a: ['x'] } } });
    expect(decoded).toEqual({ u: { fields: { a: ['x'] } } });
    expect(typeof attributes.d).toBe('string');
    expect(chunks).toEqual([]);
  });

  it('deflates a node-run-sized payload of text below the 1 KB that DynamoDB bills a write unit for', () => {
    const payload = {
      fields: { answer: ['The customer disputes an amount on an invoice; route to billing.'] },
      telemetry: Array.from({ length: 4 }, (_, i) => ({
        event_type: 'node_completed',
        node_name: `Step${i}`,
        emitted: ['DONE'],
        ok: true,
      })),
      prompt: 'Classify this support ticket and say why in one sentence. '.repeat(12),
    };
    const { decoded, attributes } = roundTrip(payload);
    expect(JSON.stringify(payload).length).toBeGreaterThan(1024);
    expect(decoded).toEqual(payload);
    expect((attributes.dz as Uint8Array).length).toBeLessThan(600);
  });

  it('deflates larger payloads', () => {
    const payload = { text: 'abc '.repeat(10_000) };
    const { decoded, attributes, chunks } = roundTrip(payload);
    expect(decoded).toEqual(payload);
    expect(attributes.dz).toBeInstanceOf(Uint8Array);
    expect((attributes.dz as Uint8Array).length).toBeLessThan(2_000);
    expect(chunks).toEqual([]);
  });

  it('splits a payload larger than one item into chunk items, each under 400 KB', () => {
    const payload = { blob: randomBytes(900_000).toString('base64') };
    const { decoded, attributes, chunks } = roundTrip(payload);
    expect(decoded).toEqual(payload);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(attributes.ch).toBe(chunks.length);
    for (const c of chunks) expect((c.c as Uint8Array).length).toBeLessThan(400_000);
    expect(chunks[0]!.sk).toBe(chunkSk('C#R#b#N', String(attributes.cn), 0));
  });

  it('refuses to decode a record whose chunk is missing', () => {
    const { attributes } = encodePayload('E#x', 'C#R#b#N', { blob: randomBytes(900_000).toString('base64') });
    // Transient: a read that raced a rewrite finds the chunks on the next attempt.
    expect(() => decodePayload({ pk: 'E#x', sk: 'C#R#b#N', ...attributes }, () => undefined)).toThrow(InconsistentReadError);
    expect(() => decodePayload({ pk: 'E#x', sk: 'C#R#b#N', ...attributes }, () => undefined)).toThrow(/misses payload chunk 0/);
  });
});
