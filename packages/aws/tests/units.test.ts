/** Pure pieces: payload encoding, message parsing, error sorting, ids, chaos PRNG. No emulator. */
import { randomBytes } from 'node:crypto';
import { TransientError, WorkflowValidationError } from '@soe/core';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  createChaos,
  delaySecondsOf,
  deterministicExecutionId,
  MAX_DELAY_SECONDS,
  MalformedMessageError,
  parseSignalMessage,
} from '../src/index.js';
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
    expect(() => decodePayload({ pk: 'E#x', sk: 'C#R#b#N', ...attributes }, () => undefined)).toThrow(/misses payload chunk 0/);
  });
});

describe('signal messages', () => {
  it('parses a version 1 body', () => {
    expect(parseSignalMessage('{"v":1,"id":"b1","executionId":"e1","signals":["A","B"]}')).toEqual({
      v: 1,
      id: 'b1',
      executionId: 'e1',
      signals: ['A', 'B'],
    });
  });

  it.each([
    ['not json', /not JSON/],
    ['[1,2]', /not an object/],
    ['{"v":2,"id":"b","executionId":"e","signals":["A"]}', /version 2/],
    ['{"v":1,"executionId":"e","signals":["A"]}', /no broadcast id/],
    ['{"v":1,"id":"b","signals":["A"]}', /no executionId/],
    ['{"v":1,"id":"b","executionId":"e","signals":[""]}', /signals must be a list/],
  ])('rejects %s', (body, message) => {
    expect(() => parseSignalMessage(body)).toThrow(MalformedMessageError);
    expect(() => parseSignalMessage(body)).toThrow(message);
  });

  it('turns delays into whole DelaySeconds, capped at the SQS maximum', () => {
    expect(delaySecondsOf(undefined)).toBeUndefined();
    expect(delaySecondsOf(0)).toBeUndefined();
    expect(delaySecondsOf(0.2)).toBe(1);
    expect(delaySecondsOf(3)).toBe(3);
    expect(delaySecondsOf(5_000)).toBe(MAX_DELAY_SECONDS);
  });
});

describe('error sorting', () => {
  it.each([
    [new TransientError('busy'), 'transient'],
    [Object.assign(new Error('x'), { name: 'ThrottlingException' }), 'transient'],
    [Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' }), 'transient'],
    [Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } }), 'transient'],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'transient'],
    [new Error('wrapped', { cause: Object.assign(new Error('x'), { name: 'InternalServerError' }) }), 'transient'],
    [new WorkflowValidationError('bad'), 'permanent'],
    [
      Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      }),
      'permanent',
    ],
    [new Error('plain'), 'permanent'],
    ['a string', 'permanent'],
  ])('%s is %s', (err, expected) => {
    expect(classifyError(err)).toBe(expected);
  });
});

describe('ids and chaos', () => {
  it('derives the same UUID-shaped child id from the same seed', () => {
    const a = deterministicExecutionId('b1#Fan#0');
    expect(a).toBe(deterministicExecutionId('b1#Fan#0'));
    expect(a).not.toBe(deterministicExecutionId('b1#Fan#1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('injects faults at the configured rates, reproducibly for a seed', () => {
    const picks = (seed: number) => {
      const chaos = createChaos({ duplicateRate: 0.3, crashAfterCommitRate: 0.1, seed });
      return Array.from({ length: 2000 }, (_, i) => (i % 2 ? chaos.duplicate() : chaos.crashAfterCommit()));
    };
    const a = picks(7);
    expect(picks(7)).toEqual(a);
    const dup = a.filter((x, i) => i % 2 && x).length / 1000;
    const crash = a.filter((x, i) => !(i % 2) && x).length / 1000;
    expect(dup).toBeGreaterThan(0.25);
    expect(dup).toBeLessThan(0.35);
    expect(crash).toBeGreaterThan(0.06);
    expect(crash).toBeLessThan(0.14);
  });
});
