/**
 * Template values: what is data, how values print and convert, truthiness, comparisons and `in`
 * with Python semantics, and argument binding for helpers. The only callables a template ever holds
 * ({@link Helper}) are defined here.
 */
import { TemplateError } from '../errors.js';
import { DEPTH_LIMIT, type RenderBudget, SIZE_LIMIT } from './budget.js';

/** Keys no template may read on any value, nor use as a dict key: the members of Object.prototype. */
export const BLOCKED_KEYS: ReadonlySet<string> = new Set([
  'constructor',
  'prototype',
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toString',
  'toLocaleString',
  'valueOf',
]);

/** A helper's implementation: the render's budget, the receiver (for methods) and the call's arguments. */
export type HelperFn = (budget: RenderBudget, recv: unknown, args: unknown[]) => unknown;

/**
 * The only thing a template can call: a whitelisted global or a method bound to its receiver. Not a
 * function, so nothing that calls functions (nunjucks internals, `JSON.stringify`'s `toJSON`,
 * coercions) can be tricked into calling it, and it exposes nothing but `invoke`.
 */
export class Helper {
  readonly #fn: HelperFn;
  readonly #recv: unknown;
  constructor(fn: HelperFn, recv?: unknown) {
    this.#fn = fn;
    this.#recv = recv;
  }
  /** Calls the helper, charging what it returns (strings, lists); string methods charge what they read. */
  invoke(budget: RenderBudget, args: unknown[]): unknown {
    const recv = this.#recv;
    const result = this.#fn(budget, recv, args);
    budget.built(result, recv);
    return result;
  }
}

/** Keyword arguments of a call (`f(a=1)`); made by the compiled code, never by data. */
export class KwArgs {
  constructor(readonly values: Record<string, unknown>) {}
}

/** A plain object (a dict): not an array, class instance or function. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** A function found in data is not handed to templates. */
export const dataOnly = (v: unknown): unknown => (typeof v === 'function' ? undefined : v);

/** The error for a helper used where data is needed. */
export const notData = (what: string) =>
  new TemplateError(`a template cannot use ${what} as a value (only data can be output or converted)`);

/** Python's name for a value's type, for messages. */
export function describeType(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Helper) return 'function';
  if (isPlainObject(v)) return 'dict';
  switch (typeof v) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    default:
      return typeof v;
  }
}

/** How a number prints (`nan`, `inf` as Python spells them). */
export function numStr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

/**
 * Plain-data copy for JSON: arrays and plain objects copied (functions dropped, as JSON drops them),
 * dates as ISO strings, helpers refused. Other objects (class instances from the user's own tools)
 * are left to JSON.stringify.
 */
export function jsonSafe(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'bigint') return Number(v);
    return v;
  }
  if (v instanceof Helper || v instanceof KwArgs) throw notData('a function');
  if (depth > DEPTH_LIMIT) throw new TemplateError(`data nested deeper than ${DEPTH_LIMIT} levels cannot be converted`);
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = jsonSafe(v[i], depth + 1);
    return out;
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (typeof x !== 'function' && typeof x !== 'symbol' && x !== undefined) out[k] = jsonSafe(x, depth + 1);
    }
    return out;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  return v;
}

/** JSON text of a value (`tojson`, and how lists and dicts print). */
export function toJson(v: unknown, indent?: number | string): string {
  if (typeof v === 'function' || typeof v === 'symbol') throw notData('a function');
  const text = JSON.stringify(jsonSafe(v, 0), null, indent);
  return text === undefined ? 'null' : text;
}

/** How a value prints: strings as they are, None/True/False the Python way, lists and dicts as JSON. */
export function str(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return numStr(v);
    case 'boolean':
      return v ? 'True' : 'False';
    case 'undefined':
      return '';
    case 'bigint':
      return v.toString();
    case 'object':
      return v === null ? 'None' : toJson(v);
    default:
      throw notData('a function');
  }
}

/** Python truthiness: None, undefined, False, 0, '', [] and {} are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) {
    for (const _ in v) return true;
    return false;
  }
  return true;
}

/** A number or a boolean (which Python arithmetic treats as 0/1). */
export const isNumeric = (v: unknown): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

/**
 * Python `==`: no coercion between strings and numbers, deep for lists and dicts, True == 1. With a
 * budget, the comparison is charged: the characters of equal-length strings, the items of lists and
 * dicts it walks.
 */
export function eq(a: unknown, b: unknown, budget?: RenderBudget): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    if (a.length !== b.length) return false;
    budget?.reads(a.length);
    return a === b;
  }
  if (a === b) return true;
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    budget?.charge(a.length);
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i], budget)) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    budget?.charge(ka.length);
    for (const k of ka) if (!Object.hasOwn(b, k) || !eq(a[k], b[k], budget)) return false;
    return true;
  }
  return false;
}

/**
 * Python ordering: numbers (and booleans) numerically, strings by code unit, lists element-wise.
 * Returns undefined when the values cannot be ordered.
 */
export function order(a: unknown, b: unknown): number | undefined {
  if (isNumeric(a) && isNumeric(b)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : undefined;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (eq(a[i], b[i])) continue;
      return order(a[i], b[i]);
    }
    return a.length - b.length;
  }
  return undefined;
}

/**
 * `<`, `>`, `<=`, `>=`. A missing value or None on either side is false (a condition on a field that
 * is not set yet is simply not met); other values that cannot be ordered (a string against a number)
 * are an error, as in Python.
 */
export function compare(op: string, a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case '<':
        return a < b;
      case '>':
        return a > b;
      case '<=':
        return a <= b;
      default:
        return a >= b;
    }
  }
  if (a === undefined || b === undefined || a === null || b === null) return false;
  const c = order(a, b);
  if (c === undefined) {
    if (typeof a === 'number' || typeof b === 'number') {
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
    }
    throw new TemplateError(`'${op}' is not supported between ${describeType(a)} and ${describeType(b)}`);
  }
  switch (op) {
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

/** Total order for sorting: missing values and None first, then Python ordering. */
export function sortCompare(a: unknown, b: unknown): number {
  const an = a === undefined || a === null;
  const bn = b === undefined || b === null;
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  const c = order(a, b);
  if (c === undefined) throw new TemplateError(`cannot sort ${describeType(a)} and ${describeType(b)} together`);
  return c;
}

/** Python `in`, charged to the budget: the characters of a string searched, the items of a list. */
export function contains(container: unknown, item: unknown, budget: RenderBudget): boolean {
  if (Array.isArray(container)) {
    budget.charge(container.length);
    for (const x of container) if (eq(x, item, budget)) return true;
    return false;
  }
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new TemplateError(`'in <string>' requires a string on the left, not ${describeType(item)}`);
    budget.reads(container.length);
    return container.includes(item);
  }
  if (isPlainObject(container)) return (typeof item === 'string' || typeof item === 'number') && Object.hasOwn(container, String(item));
  if (container === undefined || container === null) return false;
  throw new TemplateError(`'in' is not supported on ${describeType(container)}`);
}

/** A number for arithmetic; booleans count as 0/1. Anything else is an error. */
export function num(v: unknown, op: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TemplateError(`unsupported operand for '${op}': ${describeType(v)}`);
}

/** An integer argument (widths, counts, indexes), with a default. */
export function intArg(v: unknown, def: number, what: string): number {
  if (v === undefined || v === null) return def;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
  throw new TemplateError(`${what} must be an integer, not ${describeType(v)}`);
}

/** An integer argument that sizes something built (a width, a count), capped at SIZE_LIMIT. */
export const sizeArg = (v: unknown, def: number, what: string): number => {
  const n = intArg(v, def, what);
  if (n > SIZE_LIMIT) throw new TemplateError(`${what} is limited to ${SIZE_LIMIT}`);
  return n;
};

/** A dict key or list index given by a template. */
export const keyOf = (k: unknown): string | undefined => (typeof k === 'string' ? k : typeof k === 'number' ? String(k) : undefined);

// =============================================================================================
// Arguments
// =============================================================================================

/**
 * Binds positional and keyword arguments to parameter names, Python style. Returns the values in
 * parameter order (missing ones take their default).
 */
export function bind(fn: string, args: unknown[], names: readonly string[], defaults: readonly unknown[]): unknown[] {
  let n = args.length;
  const last = args[n - 1];
  const kw = last instanceof KwArgs ? last.values : undefined;
  if (kw) n--;
  if (n > names.length)
    throw new TemplateError(`${fn}() takes at most ${names.length} argument${names.length === 1 ? '' : 's'} (${n} given)`);
  const out = new Array<unknown>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = i < n ? args[i] : defaults[i];
  if (kw) {
    for (const k of Object.keys(kw)) {
      const i = names.indexOf(k);
      if (i < 0) throw new TemplateError(`${fn}() got an unexpected keyword argument '${k}'`);
      out[i] = kw[k];
    }
  }
  return out;
}

/** Positional arguments and keyword arguments, for variadic helpers. */
export function splitArgs(args: unknown[]): [unknown[], Record<string, unknown>] {
  const last = args[args.length - 1];
  return last instanceof KwArgs ? [args.slice(0, -1), last.values] : [args, {}];
}

/** Refuses arguments to a helper that takes none. */
export const noArgs = (fn: string, args: unknown[]) => {
  if (args.length) throw new TemplateError(`${fn}() takes no arguments`);
};

/** The error for a blocked key (a member of Object.prototype). */
export const blockedKey = (k: string) => new TemplateError(`'${k}' is not accessible in templates`);

/** Joins converted items, refusing a result beyond the output limit. */
export function joinText(budget: RenderBudget, items: unknown[], sep: string): string {
  const parts = items.map(str);
  let total = sep.length * Math.max(0, parts.length - 1);
  for (const p of parts) total += p.length;
  budget.ensureRoom(total);
  return parts.join(sep);
}

/** Matches a UTF-16 surrogate: a string without one has as many code points as code units. */
export const SURROGATE = /[\uD800-\uDFFF]/;

/** Python `len` of a string: code points, counted without building a list of them. */
export function codePointCount(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The first code point of a string (undefined when empty). */
export const firstChar = (s: string): string | undefined => (s === '' ? undefined : String.fromCodePoint(s.codePointAt(0)!));

/** The last code point of a string (undefined when empty). */
export function lastChar(s: string): string | undefined {
  if (s === '') return undefined;
  const low = s.charCodeAt(s.length - 1);
  const pair = s.length > 1 && low >= 0xdc00 && low <= 0xdfff && /[\uD800-\uDBFF]/.test(s[s.length - 2]!);
  return s.slice(pair ? -2 : -1);
}

/** {@link iterable}, charged to the budget before a string's characters or a dict's keys are listed. */
export function listOf(budget: RenderBudget, v: unknown, what: string): unknown[] {
  if (typeof v === 'string') budget.charge(v.length);
  else if (isPlainObject(v)) budget.charge(Object.keys(v).length);
  const l = iterable(v, what);
  if (Array.isArray(v)) budget.charge(l.length);
  return l;
}

/** A list to iterate (`for`, list filters): lists as they are, strings as characters, dicts as keys. */
export function iterable(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return Array.from(v);
  if (isPlainObject(v)) return Object.keys(v);
  throw new TemplateError(`${what}: ${describeType(v)} is not iterable`);
}

/** A deep copy of plain data (lists and dicts), so a tool cannot mutate the context through its arguments. */
export function copyData(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'function' ? undefined : v;
  if (v instanceof Helper || v instanceof KwArgs) throw notData('a function');
  if (depth > DEPTH_LIMIT) throw new TemplateError(`data nested deeper than ${DEPTH_LIMIT} levels`);
  if (Array.isArray(v)) return v.map((x) => copyData(x, depth + 1));
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyData(x, depth + 1)]));
  return v;
}
