/** Signal messages on the queue (signal-message.ts): the body's format and delays. */
import { describe, expect, it } from 'vitest';
import { delaySecondsOf, MAX_DELAY_SECONDS, MalformedMessageError, parseSignalMessage } from '../src/index.js';

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
