/** The pure parts of the limits: status pages, message batches, the retention setting. */
import type { StoredContext, TelemetryEvent } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { contextPage, eventsPage, LimitExceededError, MAX_MESSAGE_BYTES, readRuntimeEnv } from '../src/index.js';
import { batchesOf } from '../src/signal-message.js';
import { decodeContextCursor } from '../src/status-pages.js';

const op = (signals: string[]) => ({ signals, nodes: {}, llm_calls: 0, tool_calls: 0, errors: 0, main_execution_id: 'm' });

/** Follows a listing to its end; returns every (field, value) in page order and the number of pages. */
function collect(ctx: StoredContext, sel: Parameters<typeof contextPage>[1], budget: number) {
  const out: Record<string, unknown[]> = {};
  let pages = 0;
  let cursor: string | undefined;
  const omitted: Array<{ field: string; index: number }> = [];
  const next: Record<string, number> = {};
  do {
    const page = contextPage(ctx, sel, budget, budget, cursor ? decodeContextCursor(cursor) : undefined);
    pages++;
    expect(page.bytes).toBeLessThanOrEqual(budget);
    for (const [f, values] of Object.entries(page.context)) {
      if (f.startsWith('__')) continue;
      // A field continued from an earlier page goes on exactly where that page stopped.
      if (next[f] !== undefined) expect(page.ranges[f]!.from).toBe(next[f]);
      out[f] ??= [];
      next[f] = page.ranges[f]!.from + (values as unknown[]).length;
      out[f]!.push(...(values as unknown[]));
    }
    omitted.push(...page.omitted);
    cursor = page.cursor;
  } while (cursor && pages < 1000);
  return { out, pages, omitted };
}

describe('status pages', () => {
  const ctx: StoredContext = {
    __operational__: op(['START']),
    a: Array.from({ length: 40 }, (_, i) => `a${i}-${'x'.repeat(1000 + i * 37)}`),
    b: ['one', 'two'],
    c: Array.from({ length: 7 }, (_, i) => ({ i, text: 'y'.repeat(3000) })),
  };

  it('lists only the newest values by default', () => {
    const page = contextPage(ctx, { newest: true }, 1_000_000, 1_000_000);
    expect(page.context.a).toEqual([ctx.a!.at(-1)]);
    expect(page.context.b).toEqual(['two']);
    expect(page.ranges.a).toEqual({ from: 39, total: 40 });
    expect(page.context.__operational__).toEqual(ctx.__operational__);
    expect(page.cursor).toBeUndefined();
  });

  it('pages full histories within the budget and returns every value once, in order', () => {
    const { out, pages } = collect(ctx, { newest: false, history: true }, 16_000);
    expect(pages).toBeGreaterThan(5);
    expect(out).toEqual({ a: ctx.a, b: ctx.b, c: ctx.c });
  });

  it('mixes the histories asked for with the newest values of the other fields', () => {
    const { out } = collect(ctx, { newest: true, history: ['c'] }, 20_000);
    expect(out).toEqual({ a: [ctx.a!.at(-1)], b: ['two'], c: ctx.c });
  });

  it('leaves out a value larger than a whole answer, says so, and goes on', () => {
    const big: StoredContext = { __operational__: op([]), f: ['small', 'z'.repeat(50_000), 'after'] };
    const { out, omitted } = collect(big, { newest: false, history: true }, 20_000);
    expect(out.f).toEqual(['small', 'after']);
    expect(omitted).toEqual([{ field: 'f', index: 1, bytes: 50_002 }]);
  });

  it('cuts __operational__.signals to its newest entries when they would take more than a quarter of the answer', () => {
    const signals = Array.from({ length: 20_000 }, (_, i) => `SIGNAL_${i}`);
    const page = contextPage({ __operational__: op(signals) }, { newest: true }, 100_000, 100_000);
    const shown = page.context.__operational__!.signals;
    expect(page.signalsTotal).toBe(20_000);
    expect(shown.length).toBeLessThan(20_000);
    expect(shown).toEqual(signals.slice(-shown.length));
    expect(page.bytes).toBeLessThanOrEqual(25_000);
  });

  it('pages events by count and by bytes', () => {
    const events: TelemetryEvent[] = Array.from({ length: 25 }, (_, i) => ({
      event_type: 'e',
      timestamp: String(i),
      pad: 'p'.repeat(500),
    }));
    const first = eventsPage(events, 0, 10, 1_000_000, 1_000_000);
    expect(first.events).toEqual(events.slice(0, 10));
    expect(first.cursor).toBe('10');
    const byBytes = eventsPage(events, 10, 100, 2_000, 1_000_000);
    expect(byBytes.events.length).toBe(3);
    expect(byBytes.cursor).toBe('13');
    expect(eventsPage(events, 20, 100, 1_000_000, 1_000_000).cursor).toBeUndefined();
  });
});

describe('SQS message size', () => {
  it('splits sends into batches of at most ten messages and 256 KiB of bodies', () => {
    const entry = (n: number, size: number) => ({ i: `id${n}`, t: 'exec', s: [`S${'x'.repeat(size)}`] });
    const small = Array.from({ length: 23 }, (_, n) => entry(n, 10));
    expect(batchesOf(small).map((b) => b.length)).toEqual([10, 10, 3]);
    const large = Array.from({ length: 5 }, (_, n) => entry(n, 100_000));
    const batches = batchesOf(large);
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    for (const b of batches) expect(b.reduce((s, e) => s + JSON.stringify(e).length, 0)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it('refuses a message over 256 KiB with an error naming the execution and the limit', () => {
    const err = (() => {
      try {
        batchesOf([{ i: 'b', t: 'exec-1', s: Array.from({ length: 3000 }, (_, i) => `SIGNAL_NUMBER_${i}_${'q'.repeat(80)}`) }]);
      } catch (e) {
        return e as LimitExceededError;
      }
    })();
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err!.message).toMatch(/the message broadcasting 3000 signals to execution 'exec-1' is \d+ bytes: the limit is 262144 bytes/);
  });
});

describe('retention setting', () => {
  it('reads SOE_EXECUTION_RETENTION_DAYS and refuses a bad one naming it', () => {
    const base = { TABLE_NAME: 't', QUEUE_URL: 'q' };
    expect(readRuntimeEnv({ ...base, SOE_EXECUTION_RETENTION_DAYS: '14' }).executionRetentionDays).toBe(14);
    expect(readRuntimeEnv(base).executionRetentionDays).toBeUndefined();
    expect(() => readRuntimeEnv({ ...base, SOE_EXECUTION_RETENTION_DAYS: 'soon' })).toThrow(
      /SOE_EXECUTION_RETENTION_DAYS must be a positive number/,
    );
  });
});
