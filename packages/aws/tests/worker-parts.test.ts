/** The worker's named parts, without emulators: batch ordering, the time budget, long delays. */
import { describe, expect, it } from 'vitest';
import {
  deadLetterReason,
  defaultBackoffSeconds,
  defaultNodeReserveMs,
  dueOf,
  GroupBlockedError,
  GroupOrderedBatch,
  MAX_DELAY_SECONDS,
  parseSignalMessage,
  remainingDelaySeconds,
  TimeBudget,
  TimeBudgetExhaustedError,
} from '../src/index.js';
import { sqsRecord } from './helpers.js';

describe('GroupOrderedBatch', () => {
  it('runs the records of a group one after another, in order, and other groups alongside', async () => {
    const log: string[] = [];
    const batch = new GroupOrderedBatch(
      async (r) => {
        log.push(`start ${r.body}`);
        await new Promise((res) => setTimeout(res, r.body.startsWith('a') ? 20 : 1));
        log.push(`end ${r.body}`);
      },
      async () => undefined,
    );
    const records = [sqsRecord('a1', { groupId: 'A' }), sqsRecord('b1', { groupId: 'B' }), sqsRecord('a2', { groupId: 'A' })];
    await Promise.all(records.map((r) => batch.run(r)));
    // a2 starts only after a1 ended; b1 ran while a1 was running.
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
  });

  it('after a failure, fails the rest of the group unprocessed and leaves other groups alone', async () => {
    const handled: string[] = [];
    const blocked: string[] = [];
    const batch = new GroupOrderedBatch(
      async (r) => {
        if (r.body === 'a1') throw new Error('boom');
        handled.push(r.body);
      },
      async (r, e) => {
        expect(e).toBeInstanceOf(GroupBlockedError);
        blocked.push(r.body);
      },
    );
    const records = ['a1', 'a2', 'b1', 'a3'].map((b) => sqsRecord(b, { groupId: b[0]!.toUpperCase() }));
    const results = await Promise.allSettled(records.map((r) => batch.run(r)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'rejected']);
    expect(handled).toEqual(['b1']);
    expect(blocked).toEqual(['a2', 'a3']);
  });

  it('runs records without a group (a standard queue) at once', async () => {
    const handled: string[] = [];
    const batch = new GroupOrderedBatch(
      async (r) => {
        if (r.body === 'x') throw new Error('boom');
        handled.push(r.body);
      },
      async () => undefined,
    );
    await Promise.allSettled(['x', 'y'].map((b) => batch.run(sqsRecord(b))));
    expect(handled).toEqual(['y']);
  });
});

describe('TimeBudget', () => {
  const ctx = (remaining: number) => ({ getRemainingTimeInMillis: () => remaining });

  it('keeps a reserve of 10% of the timeout for nodes (200 ms to 10 s) and twice that for starting a record', () => {
    expect(defaultNodeReserveMs(900_000)).toBe(10_000);
    expect(defaultNodeReserveMs(30_000)).toBe(3_000);
    expect(defaultNodeReserveMs(500)).toBe(200);
    const b = new TimeBudget(ctx(30_000), {}, 1_000);
    expect(b.nodeReserveMs).toBe(3_000);
    expect(b.recordReserveMs).toBe(6_000);
    expect(b.nodeDeadline()).toBe(1_000 + 30_000 - 3_000);
  });

  it('refuses to start a record when less than the record reserve remains', () => {
    const b = new TimeBudget(ctx(10_000), { nodeReserveMs: 1_000, recordReserveMs: 2_000 }, 0);
    expect(b.canStartRecord(7_999)).toBe(true);
    expect(b.canStartRecord(8_001)).toBe(false);
    expect(() => b.checkRecordStart(9_000)).toThrow(TimeBudgetExhaustedError);
    expect(() => b.checkRecordStart(9_000)).toThrow(/1000 ms left/);
  });

  it('has no limit without a Lambda context', () => {
    const b = new TimeBudget(undefined);
    expect(b.canStartRecord()).toBe(true);
    expect(b.nodeDeadline()).toBeUndefined();
  });
});

describe('redelivery policy defaults', () => {
  it('backs off 5 s, 10 s, 20 s… up to 15 minutes', () => {
    expect([1, 2, 3, 10].map(defaultBackoffSeconds)).toEqual([5, 10, 20, 900]);
  });
});

describe('delays past SQS’s 900 s cap', () => {
  it('carries a due time only when the delay is longer than the cap', () => {
    expect(dueOf(600, MAX_DELAY_SECONDS, 0)).toBeUndefined();
    expect(dueOf(2_000, MAX_DELAY_SECONDS, 1_000)).toBe(1_000 + 2_000_000);
  });

  it('computes the delay that remains in whole seconds, rounded up: never early, at most a second late', () => {
    expect(remainingDelaySeconds({}, 0)).toBe(0);
    expect(remainingDelaySeconds({ due: 10_000 }, 0)).toBe(10);
    expect(remainingDelaySeconds({ due: 10_000 }, 8_500)).toBe(2);
    expect(remainingDelaySeconds({ due: 10_000 }, 9_500)).toBe(1);
    expect(remainingDelaySeconds({ due: 10_000 }, 9_950)).toBe(0);
    expect(remainingDelaySeconds({ due: 10_000 }, 20_000)).toBe(0);
  });

  it('parses the due time and refuses a bad one', () => {
    const body = { v: 1, id: 'b', executionId: 'e', signals: ['S'] };
    expect(parseSignalMessage(JSON.stringify({ ...body, due: 5 })).due).toBe(5);
    expect(parseSignalMessage(JSON.stringify(body)).due).toBeUndefined();
    expect(() => parseSignalMessage(JSON.stringify({ ...body, due: 'soon' }))).toThrow(/due must be a time/);
  });
});

describe('dead-letter reason', () => {
  it('names the broadcast, its signals, the receives and the likely causes', () => {
    expect(deadLetterReason({ id: 'b1', signals: ['GO'] }, 3)).toBe(
      'DeadLetterError: broadcast b1 (signals GO) reached the dead-letter queue after 3 receives: the worker timed out, ran out of memory or crashed',
    );
  });
});
