/** Step inputs and outputs in telemetry: each captured value capped (prefix + size) and redacted as configured. */
import type { TelemetryBackend } from './types.js';

/**
 * Decides what a captured value becomes: return the value to keep it, or anything else (a mask, a
 * scrubbed copy) to store that instead. `path` is the chain of keys from the event field down
 * (`['arguments', 'card', 'number']`).
 */
export type RedactFunction = (key: string, value: unknown, path: readonly string[]) => unknown;

/** How step I/O (prompts, answers, tool arguments and results, outputs) is kept in telemetry. */
export interface StepCaptureOptions {
  /**
   * Characters of each captured value kept per event: a longer value is stored as
   * `{ truncated: true, prefix, size }` (size in characters of its JSON). 0 turns capture off.
   * @default 4000
   */
  maxChars?: number;
  /**
   * Keeps secrets out of telemetry: field names (matched case-insensitively at any depth of a captured
   * value; their values become `"[redacted]"`), or a function called for every key.
   */
  redact?: readonly string[] | RedactFunction;
}

/** The event fields that carry step I/O; only these are capped and redacted. */
export const CAPTURED_FIELDS = ['prompt', 'response', 'arguments', 'result', 'outputs', 'cause'] as const;

/** Default characters kept per captured value. */
export const DEFAULT_CAPTURE_CHARS = 4000;

/** What a value longer than the cap becomes. */
export interface TruncatedValue {
  truncated: true;
  /** The first `maxChars` characters (of the string, or of the value's JSON). */
  prefix: string;
  /** The full size, in characters. */
  size: number;
}

/**
 * A captured string kept as the parts it is made from (a prompt: its template's text and the context
 * values it shows, by reference) and written out when read: `String(v)`, its JSON, or
 * {@link materializeText}. Telemetry that keeps it instead of the text does not repeat the context.
 */
export abstract class LazyText {
  /** The text's length in characters. */
  abstract readonly length: number;
  /** The text. */
  abstract toString(): string;
  /** As JSON, the text. */
  toJSON(): string {
    return this.toString();
  }
}

/** `v`, with a {@link LazyText} written out as its string. */
export const materializeText = (v: unknown): unknown => (v instanceof LazyText ? v.toString() : v);

/** The mask a redacted field gets. */
export const REDACTED = '[redacted]';

// Options registered by orchestrate() for a telemetry backend that an engine built earlier writes to.
const registered = new WeakMap<object, StepCaptureOptions>();

/** Makes `options` apply to every event an engine writes through `telemetry` (used by orchestrate's `capture`). */
export function registerStepCapture(telemetry: TelemetryBackend, options: StepCaptureOptions): void {
  registered.set(telemetry, options);
}

/** The options registered for a telemetry backend, if any. */
export function registeredStepCapture(telemetry: TelemetryBackend | undefined): StepCaptureOptions | undefined {
  return telemetry ? registered.get(telemetry) : undefined;
}

function redactDeep(value: unknown, redact: StepCaptureOptions['redact'], path: string[]): unknown {
  if (!redact) return value;
  if (Array.isArray(value)) return value.map((v, i) => redactDeep(v, redact, [...path, String(i)]));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  const names = typeof redact === 'function' ? undefined : new Set(redact.map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(value)) {
    const here = [...path, k];
    if (names) out[k] = names.has(k.toLowerCase()) ? REDACTED : redactDeep(v, redact, here);
    else {
      const replaced = (redact as RedactFunction)(k, v, here);
      out[k] = replaced === v ? redactDeep(v, redact, here) : replaced;
    }
  }
  return out;
}

/** The JSON text of a value (a string is its own text); throws for what JSON cannot hold (a cycle, a BigInt). */
const textOf = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));

/**
 * True when `value` is plain data whose JSON text is surely at most `budget` characters, judged from an
 * upper bound without writing the text (a string counts 6 per character, as if every one were
 * escaped). False means "not sure": the caller writes the text to know.
 */
function surelyFits(value: unknown, budget: number): boolean {
  return jsonBound(value, budget, 0) <= budget;
}

/** An upper bound of the JSON length of plain data; more than `budget` once it is past it or unsure. */
function jsonBound(value: unknown, budget: number, depth: number): number {
  const over = budget + 1;
  switch (typeof value) {
    case 'string':
      return 6 * value.length + 2;
    case 'number':
      return 24;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (depth >= 8) return over;
      let total = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && total <= budget; i++) total += jsonBound(value[i], budget - total, depth + 1) + 1;
        return total;
      }
      const proto = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return over;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) return over;
        total += 6 * key.length + 3 + jsonBound((value as Record<string, unknown>)[key], budget - total, depth + 1) + 1;
        if (total > budget) return over;
      }
      return total;
    }
    default:
      // undefined, a function, a symbol or a BigInt: JSON drops, changes or refuses it; write it to know.
      return over;
  }
}

/**
 * Redacts, then caps one captured value. A {@link LazyText} is written out, unless `keepLazy` and it
 * is kept whole anyway (no redaction, within the cap).
 */
export function captureValue(field: string, value: unknown, options: StepCaptureOptions = {}, keepLazy = false): unknown {
  const maxChars = options.maxChars ?? DEFAULT_CAPTURE_CHARS;
  if (value instanceof LazyText) {
    if (keepLazy && !options.redact && value.length <= maxChars) return value;
    value = value.toString();
  }
  // Small plain data is kept as it is, without writing its JSON to measure it.
  if (!options.redact && surelyFits(value, maxChars)) return value;
  let text: string;
  try {
    text = textOf(value);
  } catch (e) {
    // Not plain data: described, not stored, so the event stays storable.
    return `[not JSON: ${e instanceof Error ? e.message : String(e)}]`;
  }
  let v = value;
  if (typeof options.redact === 'function') {
    const top = options.redact(field, v, [field]);
    v = top === v ? redactDeep(v, options.redact, [field]) : top;
  } else if (options.redact?.length) {
    v = options.redact.some((n) => n.toLowerCase() === field.toLowerCase()) ? REDACTED : redactDeep(v, options.redact, [field]);
  }
  if (v !== value) text = textOf(v);
  if (text.length <= maxChars) return v;
  const capped: TruncatedValue = { truncated: true, prefix: text.slice(0, maxChars), size: text.length };
  return capped;
}

/**
 * The event data with its I/O fields redacted and capped; with `maxChars: 0` they are dropped.
 * Other fields pass unchanged. `keepLazy`: a {@link LazyText} kept whole stays lazy (for a backend's
 * `record`, which serializes it with its `toJSON`); otherwise it becomes its string.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function captureEventData(
  data: Record<string, unknown> | undefined,
  options: StepCaptureOptions = {},
  keepLazy = false,
): Record<string, unknown> | undefined {
  if (!data) return data;
  // Most events keep every captured value as it is (small, nothing to redact): they are handed back
  // as they are, not copied. The first value that changes (or goes) is kept for the copy below.
  let changedField: string | undefined;
  let changedValue: unknown;
  for (let i = 0; i < CAPTURED_FIELDS.length && changedField === undefined; i++) {
    const field = CAPTURED_FIELDS[i]!;
    if (!(field in data)) continue;
    const value = data[field];
    const kept = options.maxChars !== 0 && value !== undefined ? captureValue(field, value, options, keepLazy) : DROPPED;
    if (kept !== value) {
      changedField = field;
      changedValue = kept;
    }
  }
  if (changedField === undefined) return data;
  // Built key by key rather than copied and then `delete`d from: an object that loses a key becomes a
  // hash table, several times the size of the event it holds.
  const out: Record<string, unknown> = {};
  for (const key in data) {
    const value = data[key];
    if (!(CAPTURED_FIELDS as readonly string[]).includes(key)) out[key] = value;
    else if (options.maxChars !== 0 && value !== undefined)
      out[key] = key === changedField ? changedValue : captureValue(key, value, options, keepLazy);
  }
  return out;
}

/** Marks a captured field that an event loses (`maxChars: 0`, or an undefined value). */
const DROPPED: unique symbol = Symbol('dropped');
