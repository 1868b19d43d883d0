/**
 * Pages of a status answer. Lambda refuses a synchronous answer over 6 MB, and a context's histories
 * or an execution's telemetry can be far larger, so the status answer carries each field's newest
 * value by default, histories and events only on request, and never more than a byte budget of them:
 * what does not fit is left for the next request, named by a cursor.
 */
import type { StoredContext, TelemetryEvent } from '@soe/core';
import { RequestValidationError } from './errors.js';
import { jsonBytes } from './soe-table.js';

/** The largest status answer, in bytes of JSON: 5 MiB, safely under Lambda's 6 MB response limit. */
export const MAX_ANSWER_BYTES = 5 * 1024 * 1024;
/** Telemetry events per answer by default. */
export const DEFAULT_EVENTS_LIMIT = 1000;
/** Room kept for the answer's own fields (status, error, usage, cursors, ranges of a few fields). */
const ENVELOPE_BYTES = 16 * 1024;

/** Which values a context page lists: histories (all fields or the named ones) and/or newest values. */
export interface ContextSelection {
  /** Every field's newest value (fields whose history is not listed). */
  newest: boolean;
  /** Full histories: every field, or the named fields. */
  history?: true | string[];
}

/** Where a context listing continues. */
interface ContextCursor extends ContextSelection {
  v: 1;
  /** Field, and index in its history, of the next value. */
  f: string;
  i: number;
}

/** A value too large for any answer: listed instead of sent. */
export interface OmittedValue {
  field: string;
  index: number;
  bytes: number;
}

/** One page of a context. */
export interface ContextPage {
  /** Fields with the values of this page (newest values as one-value lists); `__operational__` and `__parent__` on the first page. */
  context: StoredContext;
  /** For each field in the page: the history index of its first value here, and the history's length. */
  ranges: Record<string, { from: number; total: number }>;
  /** Present when values were left out: send it back as `contextCursor`. */
  cursor?: string;
  /** Values larger than a whole answer (not sent; read them with the context backend). */
  omitted: OmittedValue[];
  /** `__operational__.signals` was cut to its newest entries: how many there are in all. */
  signalsTotal?: number;
  bytes: number;
}

const encodeCursor = (c: ContextCursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

/** Parses a `contextCursor` of an earlier answer. */
export function decodeContextCursor(text: unknown): ContextCursor {
  try {
    if (typeof text !== 'string') throw new Error('not a string');
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ContextCursor;
    if (c.v !== 1 || typeof c.f !== 'string' || !Number.isInteger(c.i)) throw new Error('unknown shape');
    return c;
  } catch {
    throw new RequestValidationError(
      `'contextCursor' must be the contextCursor of an earlier status answer, got ${JSON.stringify(text)?.slice(0, 80)}`,
    );
  }
}

/** Field names of a context (not the engine's `__…` entries), in a fixed order that pages can resume in. */
const fieldsOf = (ctx: StoredContext): string[] =>
  Object.keys(ctx)
    .filter((k) => !k.startsWith('__') && Array.isArray(ctx[k]))
    .sort();

const wantsHistory = (sel: ContextSelection, field: string): boolean =>
  sel.history === true || (Array.isArray(sel.history) && sel.history.includes(field));

/**
 * One page of `ctx` within `budget` bytes, from `cursor` on (a fresh listing without one). A value
 * larger than `maxBudget` (a whole answer) can never be sent: it is listed in `omitted` and skipped.
 */
export function contextPage(
  ctx: StoredContext,
  sel: ContextSelection,
  budget: number,
  maxBudget: number,
  cursor?: ContextCursor,
): ContextPage {
  const page: ContextPage = { context: {}, ranges: {}, omitted: [], bytes: 0 };
  if (!cursor) {
    for (const key of ['__parent__', '__operational__'] as const) {
      const value = ctx[key];
      if (value === undefined) continue;
      if (key === '__operational__') {
        const op = fitOperational(value as NonNullable<StoredContext['__operational__']>, Math.floor(budget / 4));
        page.context.__operational__ = op.value;
        if (op.signalsTotal !== undefined) page.signalsTotal = op.signalsTotal;
        page.bytes += jsonBytes(op.value);
      } else {
        page.context[key] = value as never;
        page.bytes += jsonBytes(value);
      }
    }
  }
  const fields = fieldsOf(ctx);
  let started = !cursor;
  for (const field of fields) {
    if (!started) {
      if (field < cursor!.f) continue;
      started = true;
    }
    const history = ctx[field] as unknown[];
    const all = wantsHistory(sel, field);
    if (!all && !sel.newest) continue;
    const first = all ? 0 : history.length - 1;
    let from = cursor && field === cursor.f ? Math.max(first, cursor.i) : first;
    if (from < 0) from = 0;
    const overhead = jsonBytes(field) * 2 + 48;
    for (let i = from; i < history.length; i++) {
      const bytes = jsonBytes(history[i]) + 1;
      if (bytes + overhead > maxBudget) {
        page.omitted.push({ field, index: i, bytes: bytes - 1 });
        continue;
      }
      const fresh = !page.ranges[field];
      if (page.bytes + bytes + (fresh ? overhead : 0) > budget) {
        page.cursor = encodeCursor({ v: 1, newest: sel.newest, ...(sel.history ? { history: sel.history } : {}), f: field, i });
        return page;
      }
      if (fresh) {
        page.ranges[field] = { from: i, total: history.length };
        page.context[field] = [];
        page.bytes += overhead;
      }
      (page.context[field] as unknown[]).push(history[i]);
      page.bytes += bytes;
    }
  }
  return page;
}

/** `__operational__` within `budget` bytes: its signal list cut to the newest entries when too long. */
function fitOperational(
  op: NonNullable<StoredContext['__operational__']>,
  budget: number,
): { value: NonNullable<StoredContext['__operational__']>; signalsTotal?: number } {
  if (jsonBytes(op) <= budget || !Array.isArray(op.signals)) return { value: op };
  const rest = jsonBytes({ ...op, signals: [] });
  const kept: string[] = [];
  let bytes = rest;
  for (let i = op.signals.length - 1; i >= 0; i--) {
    bytes += jsonBytes(op.signals[i]) + 1;
    if (bytes > budget) break;
    kept.unshift(op.signals[i]!);
  }
  return { value: { ...op, signals: kept }, signalsTotal: op.signals.length };
}

/** One page of telemetry events. */
export interface EventsPage {
  events: TelemetryEvent[];
  /** Present when events were left out: send it back as `eventsCursor`. */
  cursor?: string;
  bytes: number;
}

/** Parses an `eventsCursor` (the index of the next event). */
export function decodeEventsCursor(text: unknown): number {
  const n = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new RequestValidationError(
      `'eventsCursor' must be the eventsCursor of an earlier status answer, got ${JSON.stringify(text)?.slice(0, 80)}`,
    );
  return n;
}

/** Up to `limit` events from `offset` on, within `budget` bytes (at least one event when it fits a whole answer). */
export function eventsPage(events: TelemetryEvent[], offset: number, limit: number, budget: number, maxBudget: number): EventsPage {
  const out: TelemetryEvent[] = [];
  let bytes = 0;
  let i = offset;
  for (; i < events.length && out.length < limit; i++) {
    const size = jsonBytes(events[i]) + 1;
    if (size > maxBudget) continue; // an event larger than an answer: skipped (cannot happen with the engine's events)
    if (bytes + size > budget) break;
    out.push(events[i]!);
    bytes += size;
  }
  return { events: out, bytes, ...(i < events.length ? { cursor: String(i) } : {}) };
}

/** The budget an answer's pages share: `maxBytes` of the request, never above {@link MAX_ANSWER_BYTES}. */
export function answerBudget(maxBytes: unknown): number {
  if (maxBytes === undefined) return MAX_ANSWER_BYTES - ENVELOPE_BYTES;
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 64 * 1024)
    throw new RequestValidationError(`'maxBytes' must be a whole number of bytes, at least 65536, got ${JSON.stringify(maxBytes)}`);
  return Math.min(maxBytes, MAX_ANSWER_BYTES) - ENVELOPE_BYTES;
}
