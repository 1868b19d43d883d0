/**
 * Jinja-syntax templates, parsed by nunjucks and compiled by a sandboxing subclass of its compiler,
 * with a compatibility layer for the Jinja that SOE workflows are written in.
 *
 * Templates come from configs that callers send and from nodes that a model injects at run time, so
 * evaluation must never reach constructors, prototypes, `process`, the module system or any function
 * but the whitelisted helpers. Three layers enforce that, and none of them touches nunjucks' shared
 * state (its runtime, its environments and other users of the library are left as they are):
 *
 * 1. **Compile-time check of the AST.** Only a whitelist of node types is accepted: no
 *    include/import/extends/block/macro/call blocks, no regex literals. Every name must be a plain
 *    identifier; names of `Object.prototype` members (`constructor`, `__proto__`, `toString`, …) are
 *    refused as variables, as `.attribute`/`['key']` lookups and as dict keys. A call must name a
 *    whitelisted global (`range`, `dict`, `cycler`, `joiner`), a variable the template `set`, or a
 *    whitelisted string/dict/list method. Filters and tests must be known ones.
 * 2. **A compiler that emits no name unescaped and no raw JavaScript operator on template values.**
 *    nunjucks pastes some names into the generated code as they are (`x is "…"` and call labels are
 *    code injection in stock nunjucks); here every name is either a validated identifier or a
 *    JSON-quoted string. Member access, calls, `in`, comparisons, arithmetic, `~`, `and`/`or`/`not`,
 *    truthiness, iteration and output all go through the functions of {@link RUNTIME}, an object
 *    private to this module that is handed to each compiled template instead of nunjucks' runtime.
 * 3. **A runtime that only ever hands data to a template.** A member lookup returns an own data
 *    property of a plain object/array (or a string index), or a {@link Helper} for a whitelisted
 *    method; a lookup of a blocked key, or of anything on a helper or a function, throws. A JS
 *    function is never handed out (a function found in data reads as undefined); the only callables
 *    are `Helper` objects, which are not functions, and `callWrap` calls nothing else. Output,
 *    `~`, `tojson` and the string helpers convert values with their own code, never with a value's
 *    `toString`/`valueOf`/`toJSON`. Iteration, `range` and string repetition share a per-render
 *    budget, and output is capped, so a template cannot hang or exhaust a worker.
 */
import nunjucks from 'nunjucks';
import { accumulate } from './context-view.js';
import { TemplateError } from './errors.js';

/**
 * Variables a template renders with. `context` holds each field's newest value (plus
 * `__operational__` as stored); `history` maps each field to its full history, which
 * `context.<field> | accumulated` reads. Any other key (e.g. `result` in a tool node's conditions) is
 * visible to the template under its own name.
 */
export type TemplateVars = { context: Record<string, unknown>; history?: Record<string, unknown[]>; [k: string]: unknown };

/** A template compiled once; render it as often as needed. */
export interface CompiledTemplate {
  /** Renders the template with `vars`. Always returns a string; errors are {@link TemplateError}s. */
  render(vars: TemplateVars): string;
}

// =============================================================================================
// Limits
// =============================================================================================

/** Compiled templates kept in the cache. */
const CACHE_LIMIT = 5000;
/** Items a render may iterate, generate (`range`) or process in list filters, in total. */
const STEP_LIMIT = 2_000_000;
/** Characters a render may output (includes captured `{% set %}` blocks). */
const OUTPUT_LIMIT = 32 * 1024 * 1024;
/** Widths, repetitions and paddings (`center`, `zfill`, `'x' * n`, `range`). */
const SIZE_LIMIT = 100_000;
/** Nesting depth of data a template converts to text or JSON. */
const DEPTH_LIMIT = 200;

// =============================================================================================
// Values: what is data, conversions, truthiness and comparisons (Python semantics)
// =============================================================================================

/** Keys no template may read on any value, nor use as a dict key: the members of Object.prototype. */
const BLOCKED_KEYS: ReadonlySet<string> = new Set([
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

type HelperFn = (recv: unknown, args: unknown[]) => unknown;

/**
 * The only thing a template can call: a whitelisted global or a method bound to its receiver. Not a
 * function, so nothing that calls functions (nunjucks internals, `JSON.stringify`'s `toJSON`,
 * coercions) can be tricked into calling it, and it exposes nothing but `invoke`.
 */
class Helper {
  readonly #fn: HelperFn;
  readonly #recv: unknown;
  constructor(fn: HelperFn, recv?: unknown) {
    this.#fn = fn;
    this.#recv = recv;
  }
  invoke(args: unknown[]): unknown {
    return this.#fn(this.#recv, args);
  }
}

/** Keyword arguments of a call (`f(a=1)`); made by the compiled code, never by data. */
class KwArgs {
  constructor(readonly values: Record<string, unknown>) {}
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** A function found in data is not handed to templates. */
const dataOnly = (v: unknown): unknown => (typeof v === 'function' ? undefined : v);

const notData = (what: string) => new TemplateError(`a template cannot use ${what} as a value (only data can be output or converted)`);

function describeType(v: unknown): string {
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

function numStr(n: number): string {
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
function jsonSafe(v: unknown, depth: number): unknown {
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
function toJson(v: unknown, indent?: number | string): string {
  if (typeof v === 'function' || typeof v === 'symbol') throw notData('a function');
  const text = JSON.stringify(jsonSafe(v, 0), null, indent);
  return text === undefined ? 'null' : text;
}

/** How a value prints: strings as they are, None/True/False the Python way, lists and dicts as JSON. */
function str(v: unknown): string {
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
function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) {
    for (const _ in v) return true;
    return false;
  }
  return true;
}

const isNumeric = (v: unknown): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

/** Python `==`: no coercion between strings and numbers, deep for lists and dicts, True == 1. */
function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !eq(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/**
 * Python ordering: numbers (and booleans) numerically, strings by code unit, lists element-wise.
 * Returns undefined when the values cannot be ordered.
 */
function order(a: unknown, b: unknown): number | undefined {
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
function compare(op: string, a: unknown, b: unknown): boolean {
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
function sortCompare(a: unknown, b: unknown): number {
  const an = a === undefined || a === null;
  const bn = b === undefined || b === null;
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  const c = order(a, b);
  if (c === undefined) throw new TemplateError(`cannot sort ${describeType(a)} and ${describeType(b)} together`);
  return c;
}

/** Python `in`. */
function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) {
    for (const x of container) if (eq(x, item)) return true;
    return false;
  }
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new TemplateError(`'in <string>' requires a string on the left, not ${describeType(item)}`);
    return container.includes(item);
  }
  if (isPlainObject(container)) return (typeof item === 'string' || typeof item === 'number') && Object.hasOwn(container, String(item));
  if (container === undefined || container === null) return false;
  throw new TemplateError(`'in' is not supported on ${describeType(container)}`);
}

/** A number for arithmetic; booleans count as 0/1. Anything else is an error. */
function num(v: unknown, op: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TemplateError(`unsupported operand for '${op}': ${describeType(v)}`);
}

/** An integer argument (widths, counts, indexes), with a default. */
function intArg(v: unknown, def: number, what: string): number {
  if (v === undefined || v === null) return def;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
  throw new TemplateError(`${what} must be an integer, not ${describeType(v)}`);
}

const sizeArg = (v: unknown, def: number, what: string): number => {
  const n = intArg(v, def, what);
  if (n > SIZE_LIMIT) throw new TemplateError(`${what} is limited to ${SIZE_LIMIT}`);
  return n;
};

/** A dict key or list index given by a template. */
const keyOf = (k: unknown): string | undefined => (typeof k === 'string' ? k : typeof k === 'number' ? String(k) : undefined);

// ---------------------------------------------------------------------------------------------
// Per-render budget (renders are synchronous and never nested: a template cannot start a render)
// ---------------------------------------------------------------------------------------------

let steps = 0;
let outputSize = 0;

function charge(n: number): void {
  steps += n;
  if (steps > STEP_LIMIT) throw new TemplateError(`template exceeded its budget of ${STEP_LIMIT} iterations`);
}

/** A string a template built: refused beyond the output limit (so doubling a string in a loop stops). */
function text(s: string): string {
  if (s.length > OUTPUT_LIMIT) throw new TemplateError(`a template string exceeded ${OUTPUT_LIMIT} characters`);
  return s;
}

/** Refuses to build a string longer than the output limit, before building it. */
function ensureRoom(length: number): void {
  if (length > OUTPUT_LIMIT) throw new TemplateError(`a template string would exceed ${OUTPUT_LIMIT} characters`);
}

function emitted(s: string): string {
  outputSize += s.length;
  if (outputSize > OUTPUT_LIMIT) throw new TemplateError(`template output exceeded ${OUTPUT_LIMIT} characters`);
  return s;
}

// =============================================================================================
// Arguments
// =============================================================================================

/**
 * Binds positional and keyword arguments to parameter names, Python style. Returns the values in
 * parameter order (missing ones take their default).
 */
function bind(fn: string, args: unknown[], names: readonly string[], defaults: readonly unknown[]): unknown[] {
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
function splitArgs(args: unknown[]): [unknown[], Record<string, unknown>] {
  const last = args[args.length - 1];
  return last instanceof KwArgs ? [args.slice(0, -1), last.values] : [args, {}];
}

const noArgs = (fn: string, args: unknown[]) => {
  if (args.length) throw new TemplateError(`${fn}() takes no arguments`);
};

/** Reads a member as data (for `attribute=` arguments): helpers (methods) read as undefined. */
function dataGet(obj: unknown, key: string | number): unknown {
  const v = memberLookup(obj, key);
  return v instanceof Helper ? undefined : v;
}

/** Follows a dotted path (`attribute='user.name'`, `'items.0'`). */
function attrGetter(attribute: unknown): (x: unknown) => unknown {
  if (typeof attribute === 'number') return (x) => dataGet(x, attribute);
  if (typeof attribute !== 'string') throw new TemplateError(`attribute must be a string, not ${describeType(attribute)}`);
  const parts = attribute.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  for (const p of parts) if (typeof p === 'string' && BLOCKED_KEYS.has(p)) throw blockedKey(p);
  if (parts.length === 1) {
    const p = parts[0]!;
    return (x) => dataGet(x, p);
  }
  return (x) => {
    let o = x;
    for (const p of parts) o = dataGet(o, p);
    return o;
  };
}

const blockedKey = (k: string) => new TemplateError(`'${k}' is not accessible in templates`);

/** Joins converted items, refusing a result beyond the output limit. */
function joinText(items: unknown[], sep: string): string {
  const parts = items.map(str);
  let total = sep.length * Math.max(0, parts.length - 1);
  for (const p of parts) total += p.length;
  ensureRoom(total);
  return parts.join(sep);
}

/** A list to iterate (`for`, list filters): lists as they are, strings as characters, dicts as keys. */
function iterable(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return Array.from(v);
  if (isPlainObject(v)) return Object.keys(v);
  throw new TemplateError(`${what}: ${describeType(v)} is not iterable`);
}

// =============================================================================================
// Methods of strings, dicts and lists
// =============================================================================================

type Method<T> = (self: T, args: unknown[]) => unknown;

function trimChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    if (left && right) return s.trim();
    return left ? s.trimStart() : s.trimEnd();
  }
  const set = str(chars);
  let a = 0;
  let b = s.length;
  while (left && a < b && set.includes(s[a]!)) a++;
  while (right && b > a && set.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function pySplit(s: string, sep: unknown, maxsplit: unknown, fromRight: boolean): string[] {
  const max = intArg(maxsplit, -1, 'maxsplit');
  if (sep === undefined || sep === null) {
    const words: string[] = [];
    const re = /\S+/g;
    const spans: [number, number][] = [];
    for (let m = re.exec(s); m; m = re.exec(s)) spans.push([m.index, m.index + m[0].length]);
    if (max < 0 || spans.length <= max + 1) return spans.map(([a, b]) => s.slice(a, b));
    if (fromRight) {
      const keep = spans.slice(spans.length - max);
      words.push(s.slice(spans[0]![0], spans[spans.length - max - 1]![1]));
      for (const [a, b] of keep) words.push(s.slice(a, b));
      return words;
    }
    for (const [a, b] of spans.slice(0, max)) words.push(s.slice(a, b));
    words.push(s.slice(spans[max]![0], spans[spans.length - 1]![1]));
    return words;
  }
  const d = str(sep);
  if (d === '') throw new TemplateError('empty separator');
  const parts = s.split(d);
  if (max < 0 || parts.length <= max + 1) return parts;
  if (fromRight) return [parts.slice(0, parts.length - max).join(d), ...parts.slice(parts.length - max)];
  return [...parts.slice(0, max), parts.slice(max).join(d)];
}

function pyReplace(s: string, old: unknown, replacement: unknown, count: unknown): string {
  const a = str(old);
  const b = str(replacement);
  let n = intArg(count, -1, 'count');
  if (a === '') {
    const chars = Array.from(s);
    ensureRoom(s.length + b.length * (chars.length + 1));
    let out = '';
    for (let i = 0; i <= chars.length; i++) {
      if (n !== 0) {
        out += b;
        n--;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  if (b.length > a.length) ensureRoom(s.length + (b.length - a.length) * (n < 0 ? countSub(s, a) : Math.min(n, countSub(s, a))));
  if (n < 0) return s.split(a).join(b);
  let out = '';
  let from = 0;
  while (n > 0) {
    const i = s.indexOf(a, from);
    if (i < 0) break;
    out += s.slice(from, i) + b;
    from = i + a.length;
    n--;
  }
  return out + s.slice(from);
}

function countSub(s: string, sub: string): number {
  if (sub === '') return Array.from(s).length + 1;
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

function pad(s: string, width: number, fill: string, align: '<' | '>' | '^'): string {
  const len = Array.from(s).length;
  if (width <= len) return s;
  const total = width - len;
  if (align === '<') return s + fill.repeat(total);
  if (align === '>') return fill.repeat(total) + s;
  const left = Math.floor(total / 2);
  return fill.repeat(left) + s + fill.repeat(total - left);
}

const fillArg = (v: unknown): string => {
  if (v === undefined || v === null) return ' ';
  const f = str(v);
  if (Array.from(f).length !== 1) throw new TemplateError('the fill character must be exactly one character long');
  return f;
};

const titleCase = (s: string) => s.replace(/\p{L}+/gu, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase());
const capitalize = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1).toLowerCase() : s);

/** Python format-spec mini-language, for the common cases: `[[fill]align][sign][0][width][,][.precision][type]`. */
function formatSpec(v: unknown, spec: string): string {
  const m = /^(?:(.)?([<>^=]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/u.exec(spec);
  if (!m) throw new TemplateError(`invalid format specifier '${spec}'`);
  const [, fillCh, align, sign, , zero, widthS, group, precS, type] = m;
  const width = widthS ? sizeArg(Number(widthS), 0, 'format width') : 0;
  const prec = precS === undefined ? undefined : Math.min(Number(precS), 100);
  let body: string;
  let negative = false;
  if (type === 's' || (type === undefined && typeof v === 'string')) {
    body = str(v);
    if (prec !== undefined) body = body.slice(0, prec);
  } else if (type === 'c') {
    body = String.fromCodePoint(num(v, 'format'));
  } else {
    let n = num(v, 'format');
    negative = n < 0 || Object.is(n, -0);
    n = Math.abs(n);
    switch (type) {
      case 'd':
      case 'n':
        body = Math.trunc(n).toString();
        break;
      case 'b':
        body = Math.trunc(n).toString(2);
        break;
      case 'o':
        body = Math.trunc(n).toString(8);
        break;
      case 'x':
        body = Math.trunc(n).toString(16);
        break;
      case 'X':
        body = Math.trunc(n).toString(16).toUpperCase();
        break;
      case 'e':
      case 'E':
        body = n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (type === 'E') body = body.toUpperCase();
        break;
      case 'f':
      case 'F':
        body = n.toFixed(prec ?? 6);
        break;
      case '%':
        body = `${(n * 100).toFixed(prec ?? 6)}%`;
        break;
      case 'g':
      case 'G':
        body = String(Number(n.toPrecision(prec || 6)));
        break;
      default:
        body = prec === undefined ? numStr(n) : String(Number(n.toPrecision(Math.max(prec, 1))));
    }
    if (group) {
      const [int, frac] = body.split('.');
      body = int!.replace(/\B(?=(\d{3})+(?!\d))/g, group) + (frac === undefined ? '' : `.${frac}`);
    }
  }
  const signStr = negative ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '';
  if (zero && !align) return signStr + body.padStart(Math.max(0, width - signStr.length), '0');
  if (align === '=') return signStr + pad(body, width - signStr.length, fillCh ?? ' ', '>');
  const defaultAlign = typeof v === 'string' || type === 's' ? '<' : '>';
  return pad(signStr + body, width, fillCh ?? ' ', (align as '<' | '>' | '^' | undefined) ?? defaultAlign);
}

/** `'{} and {name:>5}'.format(a, name=b)`: auto and manual numbering, names, `.attr`/`[key]`, specs, `!s`/`!r`. */
function pyFormat(s: string, args: unknown[]): string {
  const [pos, kw] = splitArgs(args);
  let auto = 0;
  return s.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const m = /^([^.[!:]*)((?:\.[^.[!:]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field ?? '');
    if (!m) throw new TemplateError(`invalid format field '{${field}}'`);
    const [, name, path, conv, spec] = m;
    let v: unknown;
    if (name === '') v = pos[auto++];
    else if (/^\d+$/.test(name!)) v = pos[Number(name)];
    else v = Object.hasOwn(kw, name!) ? kw[name!] : undefined;
    for (const part of path!.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
      const key = part.startsWith('.') ? part.slice(1) : part.slice(1, -1);
      v = dataGet(v, /^\d+$/.test(key) ? Number(key) : key);
    }
    if (conv === 'r') v = typeof v === 'string' ? `'${v}'` : str(v);
    else if (conv) v = str(v);
    return spec ? formatSpec(v, spec) : str(v);
  });
}

/** Python `%` formatting (the `format` filter): `%s`, `%d`, `%.2f`, `%(name)s`, `%%`… */
function percentFormat(fmt: string, args: unknown[]): string {
  const [pos, kw] = splitArgs(args);
  const named = pos.length === 1 && isPlainObject(pos[0]) ? pos[0] : kw;
  let i = 0;
  return fmt.replace(/%(?:\(([^)]*)\))?([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdifrxXeEgGc%])/g, (_m, name, flags: string, w, p, t: string) => {
    if (t === '%') return '%';
    const v = name !== undefined ? (Object.hasOwn(named, name) ? named[name] : undefined) : pos[i++];
    const align = flags.includes('-') ? '<' : flags.includes('0') && t !== 's' ? '' : '>';
    const sign = flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
    const type = t === 'i' || t === 'u' ? 'd' : t === 'r' ? 's' : t;
    const spec = `${align ? ` ${align}` : ''}${sign}${!align ? '0' : ''}${w ?? ''}${p !== undefined ? `.${p}` : ''}${type}`;
    return formatSpec(t === 'r' && typeof v === 'string' ? `'${v}'` : v, spec);
  });
}

/** A method that takes no arguments. */
const noArg =
  <T>(name: string, f: (self: T) => unknown): Method<T> =>
  (self, args) => {
    noArgs(name, args);
    return f(self);
  };

const STRING_METHODS = new Map<string, Method<string>>([
  ['upper', noArg('upper', (s) => s.toUpperCase())],
  ['lower', noArg('lower', (s) => s.toLowerCase())],
  ['casefold', noArg('casefold', (s) => s.toLowerCase())],
  ['swapcase', noArg('swapcase', (s) => Array.from(s, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''))],
  ['title', noArg('title', (s) => titleCase(s))],
  ['capitalize', noArg('capitalize', (s) => capitalize(s))],
  ['strip', (s, a) => trimChars(s, bind('strip', a, ['chars'], [null])[0], true, true)],
  ['lstrip', (s, a) => trimChars(s, bind('lstrip', a, ['chars'], [null])[0], true, false)],
  ['rstrip', (s, a) => trimChars(s, bind('rstrip', a, ['chars'], [null])[0], false, true)],
  [
    'startswith',
    (s, a) => {
      const [p] = bind('startswith', a, ['prefix'], [undefined]);
      return Array.isArray(p) ? p.some((x) => s.startsWith(str(x))) : s.startsWith(str(p));
    },
  ],
  [
    'endswith',
    (s, a) => {
      const [p] = bind('endswith', a, ['suffix'], [undefined]);
      return Array.isArray(p) ? p.some((x) => s.endsWith(str(x))) : s.endsWith(str(p));
    },
  ],
  [
    'split',
    (s, a) => {
      const [sep, max] = bind('split', a, ['sep', 'maxsplit'], [null, -1]);
      return pySplit(s, sep, max, false);
    },
  ],
  [
    'rsplit',
    (s, a) => {
      const [sep, max] = bind('rsplit', a, ['sep', 'maxsplit'], [null, -1]);
      return pySplit(s, sep, max, true);
    },
  ],
  [
    'splitlines',
    (s, a) => {
      noArgs('splitlines', a);
      const lines = s.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/);
      if (lines.length && lines[lines.length - 1] === '') lines.pop();
      return lines;
    },
  ],
  [
    'replace',
    (s, a) => {
      const [o, n, c] = bind('replace', a, ['old', 'new', 'count'], [undefined, undefined, -1]);
      return pyReplace(s, o, n, c);
    },
  ],
  ['find', (s, a) => s.indexOf(str(bind('find', a, ['sub'], [undefined])[0]))],
  ['rfind', (s, a) => s.lastIndexOf(str(bind('rfind', a, ['sub'], [undefined])[0]))],
  [
    'index',
    (s, a) => {
      const i = s.indexOf(str(bind('index', a, ['sub'], [undefined])[0]));
      if (i < 0) throw new TemplateError('substring not found');
      return i;
    },
  ],
  ['count', (s, a) => countSub(s, str(bind('count', a, ['sub'], [undefined])[0]))],
  [
    'join',
    (s, a) => {
      const items = iterable(bind('join', a, ['iterable'], [undefined])[0], 'join');
      charge(items.length);
      return joinText(items, s);
    },
  ],
  ['isdigit', noArg('isdigit', (s) => /^\p{Nd}+$/u.test(s))],
  ['isdecimal', noArg('isdecimal', (s) => /^\p{Nd}+$/u.test(s))],
  ['isnumeric', noArg('isnumeric', (s) => /^\p{N}+$/u.test(s))],
  ['isalpha', noArg('isalpha', (s) => /^\p{L}+$/u.test(s))],
  ['isalnum', noArg('isalnum', (s) => /^[\p{L}\p{N}]+$/u.test(s))],
  ['isspace', noArg('isspace', (s) => /^\s+$/u.test(s))],
  ['isupper', noArg('isupper', (s) => s !== s.toLowerCase() && s === s.toUpperCase())],
  ['islower', noArg('islower', (s) => s !== s.toUpperCase() && s === s.toLowerCase())],
  ['istitle', noArg('istitle', (s) => s !== s.toLowerCase() && s === titleCase(s))],
  [
    'zfill',
    (s, a) => {
      const w = sizeArg(bind('zfill', a, ['width'], [0])[0], 0, 'width');
      const sign = s.startsWith('-') || s.startsWith('+') ? s[0]! : '';
      return sign + s.slice(sign.length).padStart(w - sign.length, '0');
    },
  ],
  [
    'center',
    (s, a) => {
      const [w, f] = bind('center', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '^');
    },
  ],
  [
    'ljust',
    (s, a) => {
      const [w, f] = bind('ljust', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '<');
    },
  ],
  [
    'rjust',
    (s, a) => {
      const [w, f] = bind('rjust', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '>');
    },
  ],
  ['format', (s, a) => pyFormat(s, a)],
]);

const DICT_METHODS = new Map<string, Method<Record<string, unknown>>>([
  [
    'get',
    (d, a) => {
      const [k, def] = bind('get', a, ['key', 'default'], [undefined, null]);
      const key = keyOf(k);
      return key !== undefined && Object.hasOwn(d, key) ? dataOnly(d[key]) : def;
    },
  ],
  ['keys', noArg('keys', (d: Record<string, unknown>) => Object.keys(d))],
  ['values', noArg('values', (d: Record<string, unknown>) => Object.values(d).map(dataOnly))],
  ['items', noArg('items', (d: Record<string, unknown>) => Object.entries(d).map(([k, v]) => [k, dataOnly(v)]))],
]);

const LIST_METHODS = new Map<string, Method<unknown[]>>([
  [
    'index',
    (l, a) => {
      const [v] = bind('index', a, ['value'], [undefined]);
      const i = l.findIndex((x) => eq(x, v));
      if (i < 0) throw new TemplateError(`${str(v)} is not in list`);
      return i;
    },
  ],
  ['count', (l, a) => l.filter((x) => eq(x, bind('count', a, ['value'], [undefined])[0])).length],
]);

/** Names a template may call as methods (`x.name(…)`); checked when compiling. */
const METHOD_NAMES: ReadonlySet<string> = new Set([
  ...STRING_METHODS.keys(),
  ...DICT_METHODS.keys(),
  ...LIST_METHODS.keys(),
  'next',
  'reset',
]);

// =============================================================================================
// The member accessor: the only way a template reads anything
// =============================================================================================

/** Normalises a (possibly negative) index; undefined when out of range or not an integer. */
function index(i: number, length: number): number | undefined {
  if (!Number.isInteger(i)) return undefined;
  const j = i < 0 ? length + i : i;
  return j >= 0 && j < length ? j : undefined;
}

/**
 * `obj.key` and `obj[key]`. A dict key wins over a method of the same name (`order['items']`,
 * `order.items`); lists and strings take negative indexes; anything that is not an own data
 * property or a whitelisted method is undefined. Blocked keys and lookups on functions throw.
 */
function memberLookup(obj: unknown, key: unknown): unknown {
  if (obj === undefined || obj === null) return undefined;
  if (typeof key === 'number') {
    if (typeof obj === 'string') {
      const i = index(key, obj.length);
      return i === undefined ? undefined : obj[i];
    }
    if (Array.isArray(obj)) {
      const i = index(key, obj.length);
      return i === undefined ? undefined : dataOnly(obj[i]);
    }
    if (isPlainObject(obj)) {
      const k = String(key);
      return Object.hasOwn(obj, k) ? dataOnly(obj[k]) : undefined;
    }
    if (obj instanceof Helper || typeof obj === 'function') throw new TemplateError('a function has no items');
    return undefined;
  }
  if (typeof key !== 'string') return undefined;
  if (BLOCKED_KEYS.has(key)) throw blockedKey(key);
  switch (typeof obj) {
    case 'string': {
      const m = STRING_METHODS.get(key);
      return m ? new Helper(m as HelperFn, obj) : undefined;
    }
    case 'object': {
      if (Array.isArray(obj)) {
        const m = LIST_METHODS.get(key);
        return m ? new Helper(m as HelperFn, obj) : undefined;
      }
      if (isPlainObject(obj)) {
        if (Object.hasOwn(obj, key)) return dataOnly(obj[key]);
        const m = DICT_METHODS.get(key);
        return m ? new Helper(m as HelperFn, obj) : undefined;
      }
      if (obj instanceof Helper) throw new TemplateError(`a function has no attribute '${key}'`);
      return undefined;
    }
    case 'function':
      throw new TemplateError(`a function has no attribute '${key}'`);
    default:
      return undefined;
  }
}

/** Python slices: `s[1:]`, `l[-3:]`, `l[::-1]`. */
function slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (obj === undefined || obj === null) return undefined;
  const isStr = typeof obj === 'string';
  if (!isStr && !Array.isArray(obj)) throw new TemplateError(`${describeType(obj)} cannot be sliced`);
  const seq: readonly unknown[] = isStr ? Array.from(obj as string) : (obj as unknown[]);
  const len = seq.length;
  const st = intArg(step, 1, 'slice step');
  if (st === 0) throw new TemplateError('slice step cannot be zero');
  const norm = (v: unknown, def: number, lo: number, hi: number) => {
    if (v === undefined || v === null) return def;
    let i = intArg(v, def, 'slice index');
    if (i < 0) i += len;
    return Math.min(Math.max(i, lo), hi);
  };
  const out: unknown[] = [];
  if (st > 0) {
    const a = norm(start, 0, 0, len);
    const b = norm(stop, len, 0, len);
    for (let i = a; i < b; i += st) out.push(seq[i]);
  } else {
    const a = norm(start, len - 1, -1, len - 1);
    const b = norm(stop, -1, -1, len - 1);
    for (let i = a; i > b; i += st) out.push(seq[i]);
  }
  charge(out.length);
  return isStr ? out.join('') : out.map(dataOnly);
}

// =============================================================================================
// Globals
// =============================================================================================

function rangeImpl(_: unknown, args: unknown[]): number[] {
  const [a, b, c] = bind('range', args, ['start', 'stop', 'step'], [undefined, undefined, 1]);
  let start = intArg(a, 0, 'range()');
  let stop: number;
  if (b === undefined) {
    stop = start;
    start = 0;
  } else stop = intArg(b, 0, 'range()');
  const step = intArg(c, 1, 'range() step');
  if (step === 0) throw new TemplateError('range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > SIZE_LIMIT) throw new TemplateError(`range() is limited to ${SIZE_LIMIT} items`);
  charge(n);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return out;
}

function cyclerImpl(_: unknown, args: unknown[]): Record<string, unknown> {
  const [items] = splitArgs(args);
  const state: Record<string, unknown> = Object.create(null);
  let i = 0;
  state.current = items[0];
  state.next = new Helper(() => {
    const v = items[i % items.length];
    i++;
    state.current = items[i % items.length];
    return v;
  });
  state.reset = new Helper(() => {
    i = 0;
    state.current = items[0];
    return undefined;
  });
  return state;
}

function joinerImpl(_: unknown, args: unknown[]): Helper {
  const [sep] = bind('joiner', args, ['sep'], [', ']);
  let first = true;
  return new Helper(() => {
    if (first) {
      first = false;
      return '';
    }
    return str(sep);
  });
}

function dictImpl(_: unknown, args: unknown[]): Record<string, unknown> {
  const [pos, kw] = splitArgs(args);
  const out: Record<string, unknown> = {};
  if (pos.length > 1) throw new TemplateError('dict() takes at most 1 positional argument');
  const src = pos[0];
  if (isPlainObject(src))
    for (const k of Object.keys(src))
      Object.defineProperty(out, k, { value: src[k], enumerable: true, writable: true, configurable: true });
  else if (Array.isArray(src)) {
    for (const pair of src) {
      const k = Array.isArray(pair) ? keyOf(pair[0]) : undefined;
      if (k === undefined) throw new TemplateError('dict() needs a list of [key, value] pairs');
      if (BLOCKED_KEYS.has(k)) throw blockedKey(k);
      Object.defineProperty(out, k, { value: (pair as unknown[])[1], enumerable: true, writable: true, configurable: true });
    }
  } else if (src !== undefined) throw new TemplateError(`dict() cannot convert ${describeType(src)}`);
  for (const k of Object.keys(kw)) Object.defineProperty(out, k, { value: kw[k], enumerable: true, writable: true, configurable: true });
  return out;
}

/** The globals templates see; all of them are helpers. (`True`, `False`, `None` are literals.) */
const GLOBALS = new Map<string, unknown>([
  ['range', new Helper(rangeImpl)],
  ['dict', new Helper(dictImpl)],
  ['cycler', new Helper(cyclerImpl)],
  ['joiner', new Helper(joinerImpl)],
]);

// =============================================================================================
// Tests (`is defined`, `selectattr('x', 'equalto', 1)`)
// =============================================================================================

type Test = (v: unknown, ...args: unknown[]) => boolean;
const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
const TESTS: ReadonlyMap<string, Test> = new Map<string, Test>([
  ['defined', (v) => v !== undefined],
  ['undefined', (v) => v === undefined],
  ['none', (v) => v === null],
  ['null', (v) => v === null],
  ['true', (v) => v === true],
  ['false', (v) => v === false],
  ['boolean', (v) => typeof v === 'boolean'],
  ['number', (v) => typeof v === 'number'],
  ['integer', (v) => isInt(v)],
  ['float', (v) => typeof v === 'number' && !Number.isInteger(v)],
  ['string', (v) => typeof v === 'string'],
  ['mapping', (v) => isPlainObject(v)],
  ['iterable', (v) => typeof v === 'string' || Array.isArray(v) || isPlainObject(v)],
  ['sequence', (v) => typeof v === 'string' || Array.isArray(v) || isPlainObject(v)],
  ['callable', (v) => v instanceof Helper],
  ['even', (v) => isInt(v) && (v as number) % 2 === 0],
  ['odd', (v) => isInt(v) && Math.abs((v as number) % 2) === 1],
  ['divisibleby', (v, n) => num(v, 'divisibleby') % num(n, 'divisibleby') === 0],
  ['eq', (a, b) => eq(a, b)],
  ['equalto', (a, b) => eq(a, b)],
  ['==', (a, b) => eq(a, b)],
  ['ne', (a, b) => !eq(a, b)],
  ['!=', (a, b) => !eq(a, b)],
  ['sameas', (a, b) => a === b],
  ['lt', (a, b) => compare('<', a, b)],
  ['<', (a, b) => compare('<', a, b)],
  ['lessthan', (a, b) => compare('<', a, b)],
  ['le', (a, b) => compare('<=', a, b)],
  ['<=', (a, b) => compare('<=', a, b)],
  ['gt', (a, b) => compare('>', a, b)],
  ['>', (a, b) => compare('>', a, b)],
  ['greaterthan', (a, b) => compare('>', a, b)],
  ['ge', (a, b) => compare('>=', a, b)],
  ['>=', (a, b) => compare('>=', a, b)],
  ['in', (a, b) => contains(b, a)],
  ['lower', (v) => typeof v === 'string' && v === v.toLowerCase()],
  ['upper', (v) => typeof v === 'string' && v === v.toUpperCase()],
  ['truthy', (v) => truthy(v)],
  ['falsy', (v) => !truthy(v)],
  ['escaped', () => false],
  ['filter', (v) => typeof v === 'string' && FILTERS.has(v)],
  ['test', (v) => typeof v === 'string' && TESTS.has(v)],
]);

function runTest(name: unknown, value: unknown, args: unknown[]): boolean {
  if (name === undefined || name === null) return truthy(value);
  const t = typeof name === 'string' ? TESTS.get(name) : undefined;
  if (!t) throw new TemplateError(`unknown test '${str(name)}'`);
  return t(value, ...args);
}

// =============================================================================================
// Filters
// =============================================================================================

type Filter = (value: unknown, ...args: unknown[]) => unknown;

const list = (v: unknown, what: string): unknown[] => {
  const l = iterable(v, what);
  charge(l.length);
  return l;
};

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);
}

function toInt(v: unknown, def: unknown, base: number): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : def;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return def;
  const s = v.trim().replace(/_/g, '');
  if (base === 10) {
    if (/^[-+]?\d+$/.test(s)) return Number.parseInt(s, 10);
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Math.trunc(Number(s));
    return def;
  }
  const digits = s.replace(/^([-+]?)0[xob]/i, '$1');
  const n = Number.parseInt(digits, base);
  return Number.isNaN(n) ? def : n;
}

function toFloat(v: unknown, def: unknown): unknown {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return def;
  const s = v.trim().toLowerCase();
  if (/^[-+]?(inf|infinity)$/.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[-+]?nan$/.test(s)) return Number.NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(s) ? Number(s) : def;
}

function pyRound(v: number, precision: number, method: string): number {
  const f = 10 ** precision;
  const x = v * f;
  if (method === 'ceil') return Math.ceil(x) / f;
  if (method === 'floor') return Math.floor(x) / f;
  if (method !== 'common') throw new TemplateError("round method must be 'common', 'ceil' or 'floor'");
  const r = Math.round(x);
  // Python rounds halves to even.
  return (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r) / f;
}

/** Items of `value` mapped through `attribute` (or themselves), for sort/unique/min/max/sum/groupby. */
function keyed(attribute: unknown, caseSensitive: unknown): (x: unknown) => unknown {
  const get = attribute === undefined || attribute === null ? (x: unknown) => x : attrGetter(attribute);
  return caseSensitive
    ? get
    : (x) => {
        const v = get(x);
        return typeof v === 'string' ? v.toLowerCase() : v;
      };
}

function selectOrReject(keep: boolean, byAttr: boolean) {
  const name = `${keep ? 'select' : 'reject'}${byAttr ? 'attr' : ''}`;
  return (value: unknown, ...rest: unknown[]) => {
    const items = list(value, name);
    const [pos] = splitArgs(rest);
    let get: (x: unknown) => unknown = (x) => x;
    let i = 0;
    if (byAttr) {
      if (pos.length === 0) throw new TemplateError(`${name}() needs an attribute name`);
      get = attrGetter(pos[i++]);
    }
    const test = pos[i++];
    const args = pos.slice(i);
    return items.filter((x) => runTest(test, get(x), args) === keep);
  };
}

function mapFilter(value: unknown, ...rest: unknown[]): unknown[] {
  const items = list(value, 'map');
  const [pos, kw] = splitArgs(rest);
  if (Object.hasOwn(kw, 'attribute')) {
    const get = attrGetter(kw.attribute);
    const def = kw.default;
    return items.map((x) => {
      const v = get(x);
      return v === undefined ? def : v;
    });
  }
  const name = pos[0];
  const f = typeof name === 'string' ? FILTERS.get(name) : undefined;
  if (!f) throw new TemplateError(`map: unknown filter '${str(name)}'`);
  const args = pos.slice(1);
  if (Object.keys(kw).length) args.push(new KwArgs(kw));
  return items.map((x) => f(x, ...args));
}

function truncate(value: unknown, ...rest: unknown[]): string {
  const [len, killwords, end, leeway] = bind('truncate', rest, ['length', 'killwords', 'end', 'leeway'], [255, false, '...', 5]);
  const s = str(value);
  const n = intArg(len, 255, 'length');
  const e = str(end);
  if (Array.from(s).length <= n + intArg(leeway, 5, 'leeway')) return s;
  const cut = s.slice(0, Math.max(0, n - e.length));
  if (truthy(killwords)) return cut + e;
  const i = cut.lastIndexOf(' ');
  return (i > 0 ? cut.slice(0, i) : cut) + e;
}

function groupby(value: unknown, ...rest: unknown[]): unknown[][] {
  const [attribute, def, caseSensitive] = bind('groupby', rest, ['attribute', 'default', 'case_sensitive'], [undefined, undefined, false]);
  const items = list(value, 'groupby');
  const get = attrGetter(attribute);
  const groups: { key: unknown; sortKey: unknown; items: unknown[] }[] = [];
  for (const x of items) {
    let k = get(x);
    if (k === undefined) k = def;
    const sk = !truthy(caseSensitive) && typeof k === 'string' ? k.toLowerCase() : k;
    const g = groups.find((gr) => eq(gr.sortKey, sk));
    if (g) g.items.push(x);
    else groups.push({ key: k, sortKey: sk, items: [x] });
  }
  groups.sort((a, b) => sortCompare(a.sortKey, b.sortKey));
  return groups.map((g) => [g.key, g.items]);
}

const FILTERS: Map<string, Filter> = new Map<string, Filter>([
  ['abs', (v) => Math.abs(num(v, 'abs'))],
  ['attr', (v, ...a) => dataGet(v, keyOf(bind('attr', a, ['name'], [undefined])[0]) ?? '')],
  [
    'batch',
    (v, ...a) => {
      const [n, fill] = bind('batch', a, ['linecount', 'fill_with'], [undefined, null]);
      const size = sizeArg(n, 1, 'linecount');
      if (size < 1) throw new TemplateError('batch size must be at least 1');
      const items = list(v, 'batch');
      const out: unknown[][] = [];
      for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
      const lastRow = out[out.length - 1];
      if (lastRow && fill !== null && fill !== undefined) while (lastRow.length < size) lastRow.push(fill);
      return out;
    },
  ],
  ['capitalize', (v) => capitalize(str(v))],
  ['center', (v, ...a) => pad(str(v), sizeArg(bind('center', a, ['width'], [80])[0], 80, 'width'), ' ', '^')],
  [
    'default',
    (v, ...a) => {
      const [def, boolean] = bind('default', a, ['default_value', 'boolean'], ['', false]);
      return v === undefined || (truthy(boolean) && !truthy(v)) ? def : v;
    },
  ],
  [
    'dictsort',
    (v, ...a) => {
      const [cs, by, rev] = bind('dictsort', a, ['case_sensitive', 'by', 'reverse'], [false, 'key', false]);
      if (!isPlainObject(v)) throw new TemplateError('dictsort expects a dict');
      if (by !== 'key' && by !== 'value') throw new TemplateError("dictsort: 'by' must be 'key' or 'value'");
      const entries = Object.entries(v).map(([k, x]) => [k, dataOnly(x)] as [string, unknown]);
      charge(entries.length);
      const pick = (e: [string, unknown]) => {
        const x = by === 'key' ? e[0] : e[1];
        return !truthy(cs) && typeof x === 'string' ? x.toLowerCase() : x;
      };
      entries.sort((x, y) => sortCompare(pick(x), pick(y)));
      return truthy(rev) ? entries.reverse() : entries;
    },
  ],
  ['escape', (v) => htmlEscape(str(v))],
  ['first', (v) => (typeof v === 'string' ? Array.from(v)[0] : dataOnly(iterable(v, 'first')[0]))],
  ['float', (v, ...a) => toFloat(v, bind('float', a, ['default'], [0])[0])],
  ['forceescape', (v) => htmlEscape(str(v))],
  ['format', (v, ...a) => percentFormat(str(v), a)],
  [
    'fromjson',
    (v) => {
      try {
        return JSON.parse(str(v)) as unknown;
      } catch {
        throw new TemplateError('fromjson: the value is not valid JSON');
      }
    },
  ],
  ['groupby', groupby],
  [
    'indent',
    (v, ...a) => {
      const [w, first, blank] = bind('indent', a, ['width', 'first', 'blank'], [4, false, false]);
      const sp = typeof w === 'string' ? w : ' '.repeat(sizeArg(w, 4, 'width'));
      const lines = str(v).split('\n');
      ensureRoom(lines.length * (sp.length + 1) + str(v).length);
      return lines.map((l, i) => ((i === 0 && !truthy(first)) || (!truthy(blank) && l.trim() === '') ? l : sp + l)).join('\n');
    },
  ],
  [
    'int',
    (v, ...a) => {
      const [def, base] = bind('int', a, ['default', 'base'], [0, 10]);
      return toInt(v, def, intArg(base, 10, 'base'));
    },
  ],
  [
    'items',
    (v) => {
      if (v === undefined || v === null) return [];
      if (!isPlainObject(v)) throw new TemplateError(`items expects a dict, not ${describeType(v)}`);
      return Object.entries(v).map(([k, x]) => [k, dataOnly(x)]);
    },
  ],
  [
    'join',
    (v, ...a) => {
      const [d, attribute] = bind('join', a, ['d', 'attribute'], ['', null]);
      let items = list(v, 'join');
      if (attribute !== null && attribute !== undefined) items = items.map(attrGetter(attribute));
      return joinText(items, str(d));
    },
  ],
  [
    'last',
    (v) => {
      if (typeof v === 'string') return Array.from(v).at(-1);
      const items = iterable(v, 'last');
      return dataOnly(items[items.length - 1]);
    },
  ],
  [
    'length',
    (v) => {
      if (typeof v === 'string') return Array.from(v).length;
      if (Array.isArray(v)) return v.length;
      if (isPlainObject(v)) return Object.keys(v).length;
      if (v === undefined || v === null) return 0;
      throw new TemplateError(`object of type '${describeType(v)}' has no length`);
    },
  ],
  ['list', (v) => [...list(v, 'list')].map(dataOnly)],
  ['lower', (v) => str(v).toLowerCase()],
  ['map', mapFilter],
  [
    'max',
    (v, ...a) => {
      const [cs, attribute] = bind('max', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(v, 'max');
      const k = keyed(attribute, truthy(cs));
      let best: unknown;
      for (const x of items) if (best === undefined || sortCompare(k(x), k(best)) > 0) best = x;
      return dataOnly(best);
    },
  ],
  [
    'min',
    (v, ...a) => {
      const [cs, attribute] = bind('min', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(v, 'min');
      const k = keyed(attribute, truthy(cs));
      let best: unknown;
      for (const x of items) if (best === undefined || sortCompare(k(x), k(best)) < 0) best = x;
      return dataOnly(best);
    },
  ],
  ['nl2br', (v) => str(v).replace(/\r\n|\n/g, '<br />\n')],
  ['pprint', (v) => (typeof v === 'string' ? `'${v}'` : toJson(v, 2))],
  ['reject', selectOrReject(false, false)],
  ['rejectattr', selectOrReject(false, true)],
  [
    'replace',
    (v, ...a) => {
      const [o, n, c] = bind('replace', a, ['old', 'new', 'count'], [undefined, undefined, null]);
      return pyReplace(str(v), o, n, c);
    },
  ],
  ['reverse', (v) => (typeof v === 'string' ? Array.from(v).reverse().join('') : [...list(v, 'reverse')].reverse().map(dataOnly))],
  [
    'round',
    (v, ...a) => {
      const [p, method] = bind('round', a, ['precision', 'method'], [0, 'common']);
      return pyRound(num(v, 'round'), Math.min(intArg(p, 0, 'precision'), 20), str(method));
    },
  ],
  ['safe', (v) => str(v)],
  ['select', selectOrReject(true, false)],
  ['selectattr', selectOrReject(true, true)],
  [
    'slice',
    (v, ...a) => {
      const [n, fill] = bind('slice', a, ['slices', 'fill_with'], [undefined, null]);
      const slices = sizeArg(n, 1, 'slices');
      if (slices < 1) throw new TemplateError('slice count must be at least 1');
      const items = list(v, 'slice');
      const per = Math.floor(items.length / slices);
      const extra = items.length % slices;
      const out: unknown[][] = [];
      let offset = 0;
      for (let i = 0; i < slices; i++) {
        const size = per + (i < extra ? 1 : 0);
        const part = items.slice(offset, offset + size);
        offset += size;
        if (fill !== null && fill !== undefined && i >= extra) part.push(fill);
        out.push(part);
      }
      return out;
    },
  ],
  [
    'sort',
    (v, ...a) => {
      const [rev, cs, attribute] = bind('sort', a, ['reverse', 'case_sensitive', 'attribute'], [false, false, null]);
      const items = [...list(v, 'sort')];
      const k = keyed(attribute, truthy(cs));
      items.sort((x, y) => sortCompare(k(x), k(y)));
      return (truthy(rev) ? items.reverse() : items).map(dataOnly);
    },
  ],
  ['string', (v) => str(v)],
  [
    'striptags',
    (v) =>
      str(v)
        .replace(/<!--[\s\S]*?-->|<\/?[a-zA-Z][^>]*>/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
  ],
  [
    'sum',
    (v, ...a) => {
      const [attribute, start] = bind('sum', a, ['attribute', 'start'], [null, 0]);
      let items = list(v, 'sum');
      if (attribute !== null && attribute !== undefined) items = items.map(attrGetter(attribute));
      return items.reduce<number>((acc, x) => acc + num(x, 'sum'), num(start, 'sum'));
    },
  ],
  ['title', (v) => titleCase(str(v))],
  [
    'tojson',
    (v, ...a) => {
      const [indent] = bind('tojson', a, ['indent'], [undefined]);
      return toJson(v, indent === undefined || indent === null ? undefined : Math.min(intArg(indent, 0, 'indent'), 10));
    },
  ],
  ['trim', (v, ...a) => trimChars(str(v), bind('trim', a, ['chars'], [null])[0], true, true)],
  ['truncate', truncate],
  [
    'unique',
    (v, ...a) => {
      const [cs, attribute] = bind('unique', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(v, 'unique');
      const k = keyed(attribute, truthy(cs));
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const x of items) {
        const kx = k(x);
        const id = typeof kx === 'object' && kx !== null ? `json:${toJson(kx)}` : kx;
        if (!seen.has(id)) {
          seen.add(id);
          out.push(dataOnly(x));
        }
      }
      return out;
    },
  ],
  ['upper', (v) => str(v).toUpperCase()],
  [
    'urlencode',
    (v) => {
      if (isPlainObject(v) || Array.isArray(v)) {
        const pairs = isPlainObject(v) ? Object.entries(v) : (v as unknown[]).map((p) => (Array.isArray(p) ? p : [p, '']));
        return pairs.map(([k, x]) => `${encodeURIComponent(str(k))}=${encodeURIComponent(str(x))}`).join('&');
      }
      return encodeURIComponent(str(v)).replace(/%2F/g, '/');
    },
  ],
  ['wordcount', (v) => (str(v).match(/\w+/gu) ?? []).length],
  ['bool', (v) => (typeof v === 'string' ? ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase()) : truthy(v))],
  ['accumulated', (v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v])],
]);
// Aliases, as Jinja and nunjucks name them.
for (const [alias, name] of [
  ['d', 'default'],
  ['e', 'escape'],
  ['count', 'length'],
  ['dump', 'tojson'],
] as const)
  FILTERS.set(alias, FILTERS.get(name)!);

/**
 * Names of the whitelisted globals and filters, for docs and error messages (methods of strings,
 * dicts and lists are listed in the docs separately).
 */
export const TEMPLATE_HELPERS: readonly string[] = Object.freeze([...GLOBALS.keys(), ...FILTERS.keys()].sort());

// =============================================================================================
// The runtime handed to compiled templates (instead of nunjucks' own)
// =============================================================================================

/** The `context` object compiled code receives: render variables, `{% set %}` variables, globals. */
class RenderContext {
  locals: Record<string, unknown> | null = null;
  constructor(readonly vars: TemplateVars) {}
  lookup(name: string): unknown {
    const l = this.locals;
    if (l !== null) {
      const v = l[name];
      if (v !== undefined) return v;
    }
    const vars = this.vars;
    if (Object.hasOwn(vars, name)) return dataOnly(vars[name]);
    return GLOBALS.get(name);
  }
  setVariable(name: string, value: unknown): void {
    if (this.locals === null) this.locals = Object.create(null) as Record<string, unknown>;
    this.locals[name] = value;
  }
  addExport(): void {}
}

interface Frame {
  lookup(name: string): unknown;
  topLevel: boolean;
}

let kept: unknown;
let captured: unknown;

/** `context.x | accumulated`: the history of x (a history of one list is that list). */
function accField(ctx: RenderContext, field: string): unknown[] {
  const h = ctx.vars.history;
  if (h !== undefined && h !== null && Object.hasOwn(h, field)) {
    const hist = h[field];
    if (Array.isArray(hist)) return accumulate(hist);
  }
  const context = ctx.vars.context;
  const v = context !== undefined && context !== null && Object.hasOwn(context, field) ? dataOnly(context[field]) : undefined;
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

/** What a `for` loop iterates: lists; strings as characters; dicts as keys (one target) or pairs (two). */
function iter(v: unknown, targets: number): unknown[] {
  let out: unknown[];
  if (Array.isArray(v)) out = v;
  else if (v === undefined || v === null) out = [];
  else if (typeof v === 'string') out = Array.from(v);
  else if (isPlainObject(v)) out = targets > 1 ? Object.entries(v) : Object.keys(v);
  else throw new TemplateError(`${describeType(v)} is not iterable`);
  charge(out.length);
  return out;
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' && typeof b === 'string') return text(a + b);
  if (Array.isArray(a) && Array.isArray(b)) {
    charge(a.length + b.length);
    return [...a, ...b];
  }
  if (isNumeric(a) && isNumeric(b)) return Number(a) + Number(b);
  throw new TemplateError(`unsupported operands for '+': ${describeType(a)} and ${describeType(b)} (use '~' to join text)`);
}

function mul(a: unknown, b: unknown): unknown {
  if (isNumeric(a) && isNumeric(b)) return Number(a) * Number(b);
  const [seq, times] = isNumeric(a) ? [b, a] : [a, b];
  if ((typeof seq === 'string' || Array.isArray(seq)) && isNumeric(times)) {
    const n = Math.max(0, Math.trunc(Number(times)));
    if (seq.length * n > SIZE_LIMIT) throw new TemplateError(`repetition is limited to ${SIZE_LIMIT} items`);
    charge(seq.length * n);
    if (typeof seq === 'string') return seq.repeat(n);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(...seq);
    return out;
  }
  throw new TemplateError(`unsupported operands for '*': ${describeType(a)} and ${describeType(b)}`);
}

function divisor(b: unknown, op: string): number {
  const d = num(b, op);
  if (d === 0) throw new TemplateError('division by zero');
  return d;
}

/**
 * The runtime compiled templates receive as `runtime`. Built from scratch (not a copy of nunjucks'
 * runtime), so compiled code can reach nothing else.
 */
const RUNTIME = Object.freeze({
  // Used by nunjucks' generated code for scopes and loops.
  Frame: (nunjucks as unknown as { runtime: { Frame: new () => Frame } }).runtime.Frame,
  isArray: Array.isArray,
  keys: (o: object) => Object.keys(o),
  fromIterator: (v: unknown) => v,
  handleError: (e: unknown) => e,
  makeKeywordArgs: (o: Record<string, unknown>) => new KwArgs(o),
  contextOrFrameLookup(context: RenderContext, frame: Frame, name: string): unknown {
    const v = frame.lookup(name);
    return v !== undefined ? v : context.lookup(name);
  },
  memberLookup,
  callWrap(obj: unknown, name: string, _context: unknown, args: unknown[]): unknown {
    if (obj instanceof Helper) return obj.invoke(args);
    if (obj === undefined || obj === null) throw new TemplateError(`'${name}' is undefined and cannot be called`);
    throw new TemplateError(`'${name}' is not callable in a template`);
  },
  // Output: every value is converted by str(); the size of the output is capped.
  out: (v: unknown) => emitted(str(v)),
  lit: (s: string) => emitted(s),
  // Python semantics for operators.
  truthy,
  keep(v: unknown): boolean {
    kept = v;
    return truthy(v);
  },
  get kept(): unknown {
    return kept;
  },
  eq,
  ne: (a: unknown, b: unknown) => !eq(a, b),
  lt: (a: unknown, b: unknown) => compare('<', a, b),
  gt: (a: unknown, b: unknown) => compare('>', a, b),
  le: (a: unknown, b: unknown) => compare('<=', a, b),
  ge: (a: unknown, b: unknown) => compare('>=', a, b),
  same: (a: unknown, b: unknown) => a === b,
  /** Chained comparisons (`0 < x < 10`): each pair compared, each operand evaluated once. */
  chain(values: unknown[], opsJson: string): boolean {
    const ops = JSON.parse(opsJson) as ('eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'same')[];
    for (let i = 0; i < ops.length; i++) if (!RUNTIME[ops[i]!](values[i], values[i + 1])) return false;
    return true;
  },
  inOperator: (item: unknown, container: unknown) => contains(container, item),
  concat: (a: unknown, b: unknown) => text(str(a) + str(b)),
  add,
  sub: (a: unknown, b: unknown) => num(a, '-') - num(b, '-'),
  mul,
  div: (a: unknown, b: unknown) => num(a, '/') / divisor(b, '/'),
  floordiv: (a: unknown, b: unknown) => Math.floor(num(a, '//') / divisor(b, '//')),
  mod(a: unknown, b: unknown): unknown {
    // 'Hello %s' % name, as in Python.
    if (typeof a === 'string') return text(percentFormat(a, Array.isArray(b) ? b : [b]));
    const d = divisor(b, '%');
    const r = num(a, '%') % d;
    return r !== 0 && r < 0 !== d < 0 ? r + d : r;
  },
  pow: (a: unknown, b: unknown) => num(a, '**') ** num(b, '**'),
  neg: (a: unknown) => -num(a, '-'),
  pos: (a: unknown) => num(a, '+'),
  test: (name: string, value: unknown, ...args: unknown[]) => runTest(name, value, args),
  filter: (name: string, value: unknown, ...args: unknown[]) => FILTERS.get(name)!(value, ...args),
  // Rewritten constructs.
  accField,
  iter,
  slice,
  capture(v: unknown): string {
    captured = v;
    return '';
  },
});
type RuntimeName = keyof typeof RUNTIME;

/** Runtime helpers the rewriter may call through an {@link RtCall} node, and whether they take the context. */
const RT_CALLS: ReadonlyMap<string, boolean> = new Map([
  ['truthy', false],
  ['accField', true],
  ['iter', false],
  ['slice', false],
  ['capture', false],
] satisfies [RuntimeName, boolean][]);

/** What compiled code receives as `env`: it only reads `env.opts.autoescape` (off). */
const ENV = Object.freeze({ opts: Object.freeze({ autoescape: false }) });

// =============================================================================================
// nunjucks' parser and compiler, subclassed
// =============================================================================================

interface NjNode {
  readonly typename: string;
  readonly fields: readonly string[];
  lineno: number;
  colno: number;
  [field: string]: unknown;
}
type NodeCtor = (new (
  lineno: number,
  colno: number,
  ...fields: unknown[]
) => NjNode) & {
  extend(name: string, props?: object): NodeCtor;
};
interface NjToken {
  type: string;
  value: unknown;
  lineno: number;
  colno: number;
}
interface NjTokenizer {
  index: number;
  lineno: number;
  colno: number;
}
interface NjParser {
  tokens: NjTokenizer;
  peeked: NjToken | null | false;
  parseAggregate(): NjNode | null;
  parseAsRoot(): NjNode;
  parseExpression(): NjNode;
  peekToken(): NjToken | null;
  nextToken(): NjToken | null;
  skip(type: string): boolean;
  fail(message: string, lineno?: number, colno?: number): never;
}
interface NjCompiler {
  buffer: string;
  compile(node: NjNode, frame: unknown): void;
  getCode(): string;
  fail(message: string, lineno?: number, colno?: number): never;
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: NjNode, frame: unknown): void;
  _compileAggregate(node: NjNode, frame: unknown, start?: string, end?: string): void;
  compileSymbol(node: NjNode, frame: unknown): void;
}
interface NunjucksInternals {
  nodes: Record<string, NodeCtor>;
  lexer: { lex(src: string, opts: object): NjTokenizer; [token: string]: unknown };
  parser: { Parser: new (tokens: NjTokenizer) => NjParser };
  compiler: { Compiler: new (name: string | undefined, throwOnUndefined: boolean) => NjCompiler };
  lib: { TemplateError: new (...a: unknown[]) => Error };
}
const nj = nunjucks as unknown as NunjucksInternals;
const N = nj.nodes as Record<string, NodeCtor>;
const nodeOf = (n: unknown): NjNode => n as NjNode;
const childrenOf = (n: unknown): NjNode[] => (n as { children: NjNode[] }).children;

/** `a[b:c:d]`, produced by {@link SandboxParser}, rewritten to `runtime.slice`. */
const SliceNode = N.Node!.extend('Slice', { fields: ['start', 'stop', 'step'] });
/** A call of a {@link RUNTIME} helper, inserted by the rewriter (templates cannot write one). */
const RtCall = N.FunCall!.extend('RtCall');

const TOKEN = nj.lexer as unknown as Record<string, string>;

/** nunjucks' parser plus Python slices (the way nunjucks' own Jinja compat does it, without patching). */
class SandboxParser extends nj.parser.Parser {
  override parseAggregate(): NjNode | null {
    const t = this.tokens;
    const before = { index: t.index - 1, lineno: t.lineno, colno: t.colno - 1 };
    try {
      return super.parseAggregate();
    } catch (e) {
      const failed = { index: t.index, lineno: t.lineno, colno: t.colno };
      const restore = () => {
        Object.assign(t, failed);
        return e;
      };
      Object.assign(t, before);
      this.peeked = false;
      const tok = this.peekToken();
      if (!tok || tok.type !== TOKEN.TOKEN_LEFT_BRACKET) throw restore();
      this.nextToken();
      const parts: (NjNode | null)[] = [null, null, null];
      let isSlice = false;
      for (let i = 0; i <= 3; i++) {
        if (this.skip(TOKEN.TOKEN_RIGHT_BRACKET!)) break;
        if (i === 3) {
          if (isSlice) this.fail('too many slice components', tok.lineno, tok.colno);
          break;
        }
        if (this.skip(TOKEN.TOKEN_COLON!)) isSlice = true;
        else {
          parts[i] = this.parseExpression();
          isSlice = this.skip(TOKEN.TOKEN_COLON!) || isSlice;
        }
      }
      if (!isSlice) throw restore();
      return new N.Array!(tok.lineno, tok.colno, [new SliceNode(tok.lineno, tok.colno, ...parts)]);
    }
  }
}

const q = (s: string) => JSON.stringify(s);
const BOOLEAN_NODES = new Set(['Compare', 'Is', 'In', 'Not']);

/**
 * nunjucks' compiler with every construct that touches a template value routed through {@link RUNTIME}
 * and every emitted name quoted.
 */
class SandboxCompiler extends nj.compiler.Compiler {
  override compile(node: NjNode, frame: unknown): void {
    if (!COMPILABLE.has(node.typename)) this.fail(`cannot compile '${node.typename}' in a sandboxed template`, node.lineno, node.colno);
    super.compile(node, frame);
  }
  compileLiteral(node: NjNode): void {
    const v = node.value;
    if (typeof v === 'string') this._emit(q(v));
    else if (v === null) this._emit('null');
    else if (typeof v === 'number' || typeof v === 'boolean') this._emit(String(v));
    else this.fail('unsupported literal', node.lineno, node.colno);
  }
  compileTemplateData(node: NjNode): void {
    this.compileLiteral(node);
  }
  override compileSymbol(node: NjNode, frame: unknown): void {
    if (typeof node.value !== 'string' || !IDENT.test(node.value)) this.fail('invalid name', node.lineno, node.colno);
    super.compileSymbol(node, frame);
  }
  compileOutput(node: NjNode, frame: unknown): void {
    for (const child of childrenOf(node)) {
      if (child.typename === 'TemplateData') {
        if (child.value) this._emitLine(`${this.buffer} += runtime.lit(${q(String(child.value))});`);
      } else {
        this._emit(`${this.buffer} += runtime.out(`);
        this.compile(child, frame);
        this._emitLine(');');
      }
    }
  }
  compileFunCall(node: NjNode, frame: unknown): void {
    this._emit(`(lineno = ${Number(node.lineno)}, colno = ${Number(node.colno)}, runtime.callWrap(`);
    this._compileExpression(nodeOf(node.name), frame);
    this._emit(`, ${q(calleeLabel(nodeOf(node.name)))}, context, `);
    this._compileAggregate(nodeOf(node.args), frame, '[', '])');
    this._emit(')');
  }
  compileRtCall(node: NjNode, frame: unknown): void {
    const name = String(node.name);
    const withContext = RT_CALLS.get(name);
    if (withContext === undefined) this.fail(`unknown runtime helper '${name}'`);
    this._emit(`runtime.${name}(${withContext ? 'context, ' : ''}`);
    this._compileAggregate(nodeOf(node.args), frame, '', ')');
  }
  compileFilter(node: NjNode, frame: unknown): void {
    const name = String(nodeOf(node.name).value);
    if (!FILTERS.has(name)) this.fail(`unknown filter '${name}'`, node.lineno, node.colno);
    this._emit(`runtime.filter(${q(name)}, `);
    this._compileAggregate(nodeOf(node.args), frame, '', ')');
  }
  compileIs(node: NjNode, frame: unknown): void {
    const { name, args } = testOf(nodeOf(node.right));
    if (name === undefined || !TESTS.has(name)) this.fail(`unknown test '${name}'`, node.lineno, node.colno);
    this._emit(`runtime.test(${q(name)}, `);
    this.compile(nodeOf(node.left), frame);
    if (args && childrenOf(args).length) this._compileAggregate(args, frame, ', ', '');
    this._emit(')');
  }
  compileIn(node: NjNode, frame: unknown): void {
    this.binary('inOperator', node, frame);
  }
  compileOr(node: NjNode, frame: unknown): void {
    // Python: `a or b` is a when a is truthy, else b; b is evaluated only when needed.
    this._emit('(runtime.keep(');
    this.compile(nodeOf(node.left), frame);
    this._emit(') ? runtime.kept : (');
    this.compile(nodeOf(node.right), frame);
    this._emit('))');
  }
  compileAnd(node: NjNode, frame: unknown): void {
    this._emit('(runtime.keep(');
    this.compile(nodeOf(node.left), frame);
    this._emit(') ? (');
    this.compile(nodeOf(node.right), frame);
    this._emit(') : runtime.kept)');
  }
  compileNot(node: NjNode, frame: unknown): void {
    const target = nodeOf(node.target);
    this._emit(BOOLEAN_NODES.has(target.typename) ? '(!(' : '(!runtime.truthy(');
    this.compile(target, frame);
    this._emit('))');
  }
  compileInlineIf(node: NjNode, frame: unknown): void {
    this._emit('(runtime.truthy(');
    this.compile(nodeOf(node.cond), frame);
    this._emit(') ? (');
    this.compile(nodeOf(node.body), frame);
    this._emit(') : (');
    if (node.else_) this.compile(nodeOf(node.else_), frame);
    else this._emit('undefined');
    this._emit('))');
  }
  compileCompare(node: NjNode, frame: unknown): void {
    const ops = childrenOfOps(node);
    const name = (op: NjNode) => {
      const n = Object.hasOwn(COMPARE_OPS, String(op.type)) ? COMPARE_OPS[String(op.type)] : undefined;
      if (!n) this.fail(`unsupported comparison '${String(op.type)}'`, op.lineno, op.colno);
      return n;
    };
    if (ops.length === 1) {
      this._emit(`runtime.${name(ops[0]!)}(`);
      this.compile(nodeOf(node.expr), frame);
      this._emit(', ');
      this.compile(nodeOf(ops[0]!.expr), frame);
      this._emit(')');
      return;
    }
    // a < b < c is (a < b) and (b < c), each operand evaluated once.
    this._emit('runtime.chain([');
    this.compile(nodeOf(node.expr), frame);
    for (const op of ops) {
      this._emit(', ');
      this.compile(nodeOf(op.expr), frame);
    }
    this._emit(`], ${q(JSON.stringify(ops.map(name)))})`);
  }
  compileConcat(node: NjNode, frame: unknown): void {
    this.binary('concat', node, frame);
  }
  compileAdd(node: NjNode, frame: unknown): void {
    this.binary('add', node, frame);
  }
  compileSub(node: NjNode, frame: unknown): void {
    this.binary('sub', node, frame);
  }
  compileMul(node: NjNode, frame: unknown): void {
    this.binary('mul', node, frame);
  }
  compileDiv(node: NjNode, frame: unknown): void {
    this.binary('div', node, frame);
  }
  compileFloorDiv(node: NjNode, frame: unknown): void {
    this.binary('floordiv', node, frame);
  }
  compileMod(node: NjNode, frame: unknown): void {
    this.binary('mod', node, frame);
  }
  compilePow(node: NjNode, frame: unknown): void {
    this.binary('pow', node, frame);
  }
  compileNeg(node: NjNode, frame: unknown): void {
    this.unary('neg', node, frame);
  }
  compilePos(node: NjNode, frame: unknown): void {
    this.unary('pos', node, frame);
  }
  compileGroup(node: NjNode, frame: unknown): void {
    // A parenthesised tuple is a list (nunjucks would compile `(a, b)` to JS's comma operator).
    this._compileAggregate(node, frame, childrenOf(node).length === 1 ? '(' : '[', childrenOf(node).length === 1 ? ')' : ']');
  }
  private binary(fn: RuntimeName, node: NjNode, frame: unknown): void {
    this._emit(`runtime.${fn}(`);
    this.compile(nodeOf(node.left), frame);
    this._emit(', ');
    this.compile(nodeOf(node.right), frame);
    this._emit(')');
  }
  private unary(fn: RuntimeName, node: NjNode, frame: unknown): void {
    this._emit(`runtime.${fn}(`);
    this.compile(nodeOf(node.target), frame);
    this._emit(')');
  }
}

const COMPARE_OPS: Record<string, RuntimeName> = { '==': 'eq', '!=': 'ne', '<': 'lt', '>': 'gt', '<=': 'le', '>=': 'ge', '===': 'same' };
const childrenOfOps = (node: NjNode): NjNode[] => node.ops as NjNode[];

// =============================================================================================
// Compile-time check of the AST
// =============================================================================================

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Node types a template may contain. */
const ALLOWED_NODES: ReadonlySet<string> = new Set([
  'Root',
  'NodeList',
  'Output',
  'TemplateData',
  'Literal',
  'Symbol',
  'Group',
  'Array',
  'Dict',
  'Pair',
  'LookupVal',
  'Slice',
  'If',
  'InlineIf',
  'For',
  'FunCall',
  'Filter',
  'KeywordArgs',
  'Set',
  'Switch',
  'Case',
  'Capture',
  'In',
  'Is',
  'Or',
  'And',
  'Not',
  'Add',
  'Concat',
  'Sub',
  'Mul',
  'Div',
  'FloorDiv',
  'Mod',
  'Pow',
  'Neg',
  'Pos',
  'Compare',
  'CompareOperand',
]);

/** Node types the sandboxed compiler accepts (after rewriting: slices are gone, runtime calls added). */
const COMPILABLE: ReadonlySet<string> = new Set([...ALLOWED_NODES, 'RtCall'].filter((t) => t !== 'Slice' && t !== 'CompareOperand'));

/** How refused constructs are named in errors. */
const REFUSED: Record<string, string> = {
  Include: '{% include %}',
  Import: '{% import %}',
  FromImport: '{% from … import %}',
  Extends: '{% extends %}',
  Block: '{% block %}',
  Super: 'super()',
  Macro: '{% macro %}',
  Caller: '{% call %}',
  CallExtension: 'template extensions',
  CallExtensionAsync: 'template extensions',
  FilterAsync: 'asynchronous filters',
  IfAsync: '{% ifAsync %}',
  AsyncEach: '{% asyncEach %}',
  AsyncAll: '{% asyncAll %}',
};

const CALLABLE_HINT =
  'only range(), dict(), cycler(), joiner(), variables set to one of those, and string, dict and list methods can be called';

/** Child nodes of a node (fields holding nodes or lists of nodes). */
function* childNodes(n: NjNode): Generator<NjNode> {
  for (const f of n.fields) {
    const v = n[f];
    if (Array.isArray(v)) {
      for (const x of v) if (x && typeof x === 'object' && 'typename' in x) yield x as NjNode;
    } else if (v && typeof v === 'object' && 'typename' in v) yield v as NjNode;
  }
}

/** `x.y.z` for messages and call labels. */
function calleeLabel(n: NjNode): string {
  if (n.typename === 'Symbol') return String(n.value);
  if (n.typename === 'LookupVal') {
    const val = nodeOf(n.val);
    const key = val.typename === 'Literal' ? String(val.value) : '[…]';
    return `${calleeLabel(nodeOf(n.target))}.${key}`;
  }
  return 'expression';
}

const TEST_ALIASES: ReadonlyMap<string, string> = new Map([
  ['None', 'none'],
  ['True', 'true'],
  ['False', 'false'],
]);

/** The test an `is` names, and its arguments. */
function testOf(right: NjNode): { name: string | undefined; args?: NjNode } {
  switch (right.typename) {
    case 'Symbol': {
      const name = String(right.value);
      return { name: TEST_ALIASES.get(name) ?? name };
    }
    case 'Literal':
      return { name: right.value === null ? 'none' : right.value === true ? 'true' : right.value === false ? 'false' : undefined };
    case 'FunCall': {
      const callee = nodeOf(right.name);
      if (callee.typename !== 'Symbol') return { name: undefined };
      const name = String(callee.value);
      return { name: TEST_ALIASES.get(name) ?? name, args: nodeOf(right.args) };
    }
    default:
      return { name: undefined };
  }
}

function collectSetNames(n: NjNode, out: Set<string>): Set<string> {
  if (n.typename === 'Set') for (const t of n.targets as NjNode[]) if (t.typename === 'Symbol') out.add(String(t.value));
  for (const c of childNodes(n)) collectSetNames(c, out);
  return out;
}

function checkName(v: unknown, problems: Set<string>): void {
  const name = String(v);
  if (BLOCKED_KEYS.has(name)) problems.add(`'${name}' is not accessible in templates`);
  else if (!IDENT.test(name)) problems.add(`'${name}' is not a valid name`);
}

function checkTarget(n: NjNode, problems: Set<string>): void {
  if (n.typename === 'Symbol') checkName(n.value, problems);
  else problems.add('only names can be assigned');
}

/** Collects every reason the template is refused. */
function check(n: NjNode, problems: Set<string>, setNames: ReadonlySet<string>): void {
  const type = n.typename;
  if (!ALLOWED_NODES.has(type)) {
    problems.add(`${Object.hasOwn(REFUSED, type) ? REFUSED[type] : `'${type}'`} is not allowed in templates`);
    return;
  }
  switch (type) {
    case 'Symbol':
      checkName(n.value, problems);
      return;
    case 'Literal': {
      const v = n.value;
      if (!(v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
        problems.add('regular expression literals are not supported');
      return;
    }
    case 'Slice':
      problems.add('slice syntax is only allowed in a subscript (x[a:b])');
      return;
    case 'LookupVal': {
      check(nodeOf(n.target), problems, setNames);
      const val = nodeOf(n.val);
      if (val.typename === 'Slice') {
        for (const c of childNodes(val)) check(c, problems, setNames);
        return;
      }
      if (val.typename === 'Literal' && typeof val.value === 'string' && BLOCKED_KEYS.has(val.value)) {
        problems.add(`'${val.value}' is not accessible in templates`);
        return;
      }
      check(val, problems, setNames);
      return;
    }
    case 'Pair': {
      const key = nodeOf(n.key);
      if (key.typename !== 'Symbol' && !(key.typename === 'Literal' && typeof key.value === 'string'))
        problems.add('dict keys must be strings or names');
      else if (BLOCKED_KEYS.has(String(key.value))) problems.add(`'${String(key.value)}' cannot be used as a dict key`);
      else if (key.typename === 'Symbol' && !IDENT.test(String(key.value))) problems.add(`'${String(key.value)}' is not a valid name`);
      check(nodeOf(n.value), problems, setNames);
      return;
    }
    case 'Filter': {
      const name = String(nodeOf(n.name).value);
      if (!FILTERS.has(name)) problems.add(`unknown filter '${name}'`);
      check(nodeOf(n.args), problems, setNames);
      return;
    }
    case 'Is': {
      check(nodeOf(n.left), problems, setNames);
      const { name, args } = testOf(nodeOf(n.right));
      if (name === undefined) problems.add("'is' must be followed by the name of a test");
      else if (!TESTS.has(name)) problems.add(`unknown test '${name}'`);
      if (args) check(args, problems, setNames);
      return;
    }
    case 'FunCall': {
      const callee = nodeOf(n.name);
      const ok =
        (callee.typename === 'Symbol' && (GLOBALS.has(String(callee.value)) || setNames.has(String(callee.value)))) ||
        (callee.typename === 'LookupVal' &&
          nodeOf(callee.val).typename === 'Literal' &&
          typeof nodeOf(callee.val).value === 'string' &&
          METHOD_NAMES.has(String(nodeOf(callee.val).value)));
      if (!ok && !(callee.typename === 'LookupVal' && BLOCKED_KEYS.has(String(nodeOf(callee.val).value))))
        problems.add(`'${calleeLabel(callee)}' cannot be called in a template (${CALLABLE_HINT})`);
      check(callee, problems, setNames);
      check(nodeOf(n.args), problems, setNames);
      return;
    }
    case 'Set':
      for (const t of n.targets as NjNode[]) checkTarget(t, problems);
      if (n.value) check(nodeOf(n.value), problems, setNames);
      if (n.body) check(nodeOf(n.body), problems, setNames);
      return;
    case 'For': {
      const name = nodeOf(n.name);
      if (name.typename === 'Array') for (const t of childrenOf(name)) checkTarget(t, problems);
      else checkTarget(name, problems);
      check(nodeOf(n.arr), problems, setNames);
      check(nodeOf(n.body), problems, setNames);
      if (n.else_) check(nodeOf(n.else_), problems, setNames);
      return;
    }
    default:
      for (const c of childNodes(n)) check(c, problems, setNames);
  }
}

// =============================================================================================
// Rewriting: Python constants, `accumulated` on context fields, truthiness, loops, slices
// =============================================================================================

const CONSTANTS = new Map<string, boolean | null>([
  ['True', true],
  ['False', false],
  ['None', null],
]);

const nodeList = (at: NjNode, items: NjNode[]) => new N.NodeList!(at.lineno, at.colno, items);
const literal = (at: NjNode, v: unknown) => new N.Literal!(at.lineno, at.colno, v);
const rtCall = (at: NjNode, name: RuntimeName, args: NjNode[]) => new RtCall(at.lineno, at.colno, name, nodeList(at, args));

/** `context.x` or `context['x']`: the field name. */
function contextField(n: NjNode | undefined): string | undefined {
  if (n?.typename !== 'LookupVal') return undefined;
  const target = nodeOf(n.target);
  const val = nodeOf(n.val);
  if (target.typename !== 'Symbol' || target.value !== 'context') return undefined;
  return val.typename === 'Literal' && typeof val.value === 'string' ? val.value : undefined;
}

const asCondition = (n: NjNode): NjNode => (BOOLEAN_NODES.has(n.typename) ? n : rtCall(n, 'truthy', [n]));

function rewriteFields(n: NjNode, skip: readonly string[] = []): NjNode {
  for (const f of n.fields) {
    if (skip.includes(f)) continue;
    const v = n[f];
    if (Array.isArray(v)) n[f] = v.map((x) => (x && typeof x === 'object' && 'typename' in x ? rewrite(x as NjNode) : x));
    else if (v && typeof v === 'object' && 'typename' in v) n[f] = rewrite(v as NjNode);
  }
  return n;
}

function rewrite(n: NjNode): NjNode {
  switch (n.typename) {
    case 'Symbol': {
      const name = String(n.value);
      return CONSTANTS.has(name) ? literal(n, CONSTANTS.get(name)) : n;
    }
    case 'Filter': {
      const args = childrenOf(n.args);
      const field = nodeOf(n.name).value === 'accumulated' ? contextField(args[0]) : undefined;
      if (field !== undefined) return rtCall(n, 'accField', [literal(n, field)]);
      return rewriteFields(n, ['name']);
    }
    case 'Is': {
      n.left = rewrite(nodeOf(n.left));
      const right = nodeOf(n.right);
      if (right.typename === 'FunCall') rewriteFields(nodeOf(right.args));
      return n;
    }
    case 'Set':
      return rewriteFields(n, ['targets']);
    case 'For': {
      const name = nodeOf(n.name);
      rewriteFields(n, ['name', 'arr']);
      n.arr = rtCall(n, 'iter', [rewrite(nodeOf(n.arr)), literal(n, name.typename === 'Array' ? childrenOf(name).length : 1)]);
      return n;
    }
    case 'If':
      rewriteFields(n);
      n.cond = asCondition(nodeOf(n.cond));
      return n;
    case 'LookupVal': {
      const val = nodeOf(n.val);
      if (val.typename === 'Slice') {
        const part = (f: string) => (val[f] ? rewrite(nodeOf(val[f])) : literal(n, null));
        return rtCall(n, 'slice', [rewrite(nodeOf(n.target)), part('start'), part('stop'), part('step')]);
      }
      return rewriteFields(n);
    }
    case 'Pair':
      return rewriteFields(n, ['key']);
    default:
      return rewriteFields(n);
  }
}

/** When the template is one `{{ expression }}` (whitespace around allowed): the expression. */
function singleExpression(root: NjNode): { expr: NjNode; lead: string; trail: string } | undefined {
  const items: NjNode[] = [];
  for (const c of childrenOf(root)) {
    if (c.typename !== 'Output') return undefined;
    items.push(...childrenOf(c));
  }
  const at = items.findIndex((c) => c.typename !== 'TemplateData');
  if (at < 0 || items.findIndex((c, i) => i > at && c.typename !== 'TemplateData') >= 0) return undefined;
  const text = (list: NjNode[]) => list.map((c) => String(c.value ?? '')).join('');
  const lead = text(items.slice(0, at));
  const trail = text(items.slice(at + 1));
  if (lead.trim() !== '' || trail.trim() !== '') return undefined;
  return { expr: items[at]!, lead, trail };
}

// =============================================================================================
// Compiling and rendering
// =============================================================================================

type RootFn = (env: unknown, context: RenderContext, frame: Frame, runtime: unknown, cb: (err: unknown, res: string) => void) => void;

function generate(root: NjNode): RootFn {
  const compiler = new SandboxCompiler(undefined, false);
  compiler.compile(root, null);
  // The code is generated from the checked AST by the compiler above: every name in it is a checked
  // identifier or a JSON-quoted string, and every value-touching operation calls RUNTIME.
  const props = new Function(compiler.getCode())() as { root: RootFn };
  return props.root;
}

function asTemplateError(e: unknown): TemplateError {
  if (e instanceof TemplateError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new TemplateError(
    `template error: ${msg
      .replace(/^\(unknown path\)\s*/, '')
      .replace(/\s+/g, ' ')
      .trim()}`,
    { cause: e },
  );
}

function run(root: RootFn, vars: TemplateVars): string {
  steps = 0;
  outputSize = 0;
  kept = undefined;
  let error: unknown = null;
  let result = '';
  const frame = new RUNTIME.Frame();
  frame.topLevel = true;
  root(ENV, new RenderContext(vars), frame, RUNTIME, (err, res) => {
    error = err;
    result = res;
  });
  kept = undefined;
  if (error) throw asTemplateError(error);
  return result;
}

/** A deep copy of plain data (lists and dicts), so a tool cannot mutate the context through its arguments. */
function copyData(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'function' ? undefined : v;
  if (v instanceof Helper || v instanceof KwArgs) throw notData('a function');
  if (depth > DEPTH_LIMIT) throw new TemplateError(`data nested deeper than ${DEPTH_LIMIT} levels`);
  if (Array.isArray(v)) return v.map((x) => copyData(x, depth + 1));
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyData(x, depth + 1)]));
  return v;
}

class Compiled implements CompiledTemplate {
  /** Used since it was last considered for eviction (the cache's second chance). */
  hot = false;
  constructor(
    private readonly root: RootFn | null,
    private readonly constant: string,
    private readonly single: { root: RootFn; lead: string; trail: string } | null,
  ) {}

  render(vars: TemplateVars): string {
    return this.root === null ? this.constant : run(this.root, vars);
  }

  /** The value of a single-expression template (renderValue); otherwise the rendered text. */
  value(vars: TemplateVars): unknown {
    if (this.single === null) return this.render(vars);
    captured = undefined;
    try {
      run(this.single.root, vars);
      const v = captured;
      if (v === undefined || typeof v === 'string') return this.single.lead + str(v) + this.single.trail;
      return copyData(v);
    } finally {
      captured = undefined;
    }
  }
}

function syntaxError(e: unknown): TemplateError {
  const err = e as { message?: string; lineno?: number; colno?: number };
  const where = err.lineno ? ` (line ${err.lineno}${err.colno ? `, column ${err.colno}` : ''})` : '';
  const msg = String(err.message ?? e)
    .replace(/^\(unknown path\)\s*(\[[^\]]*\])?\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return new TemplateError(`syntax error${where}: ${msg}`, { cause: e });
}

function build(source: string): Compiled {
  // Jinja's defaults: newlines normalised, a single trailing newline dropped.
  let text = source.replace(/\r\n?/g, '\n');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  if (!text.includes('{{') && !text.includes('{%') && !text.includes('{#')) return new Compiled(null, text, null);
  let ast: NjNode;
  try {
    ast = new SandboxParser(nj.lexer.lex(text, {})).parseAsRoot();
  } catch (e) {
    throw syntaxError(e);
  }
  const problems = new Set<string>();
  check(ast, problems, collectSetNames(ast, new Set()));
  if (problems.size) throw new TemplateError([...problems].join('; '));
  const root = rewrite(ast);
  const single = singleExpression(root);
  try {
    const main = generate(root);
    if (!single) return new Compiled(main, '', null);
    const at = single.expr;
    const exprRoot = new N.Root!(0, 0, [new N.Output!(at.lineno, at.colno, [rtCall(at, 'capture', [at])])]);
    return new Compiled(main, '', { root: generate(exprRoot), lead: single.lead, trail: single.trail });
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    throw syntaxError(e);
  }
}

type CacheEntry = Compiled | TemplateError;
const cache = new Map<string, CacheEntry>();

/** Evicts one entry, oldest first, sparing (once) those used since they were last considered. */
function evictOne(): void {
  for (const [key, entry] of cache) {
    cache.delete(key);
    if (entry instanceof Compiled && entry.hot) {
      entry.hot = false;
      cache.set(key, entry);
      continue;
    }
    return;
  }
}

function compiled(source: string): Compiled {
  const hit = cache.get(source);
  if (hit !== undefined) {
    if (hit instanceof TemplateError) throw hit;
    hit.hot = true;
    return hit;
  }
  let entry: CacheEntry;
  try {
    entry = build(source);
  } catch (e) {
    entry = asTemplateError(e);
  }
  if (cache.size >= CACHE_LIMIT) evictOne();
  cache.set(source, entry);
  if (entry instanceof TemplateError) throw entry;
  return entry;
}

// =============================================================================================
// Public API
// =============================================================================================

/** True when `source` contains template syntax (`{{` or `{%`); other strings are used as they are. */
export function isTemplate(source: string): boolean {
  return source.includes('{{') || source.includes('{%');
}

/**
 * Compiles a template, once: the result is cached by source text (up to 5,000 templates). Throws
 * {@link TemplateError} for syntax errors, unknown filters or tests, and anything the sandbox refuses
 * (include/import/extends/macro/call blocks, access to `constructor`, `__proto__`…, calls of anything
 * but the whitelisted helpers); the message names the offending filter, name or construct.
 */
export function compileTemplate(source: string): CompiledTemplate {
  return compiled(source);
}

/** Compiles (cached) and renders a template. Any error, at compile or render time, is a {@link TemplateError}. */
export function renderTemplate(source: string, vars: TemplateVars): string {
  return compiled(source).render(vars);
}

const FALSY_TEXT: ReadonlySet<string> = new Set(['', 'False', 'false', 'None', 'none', 'null', 'undefined', '0', '[]', '{}']);

/**
 * Renders a condition and reads the text as a boolean, as the engine decides whether to emit a
 * signal: false when the trimmed text is empty, `False`/`false`, `None`/`none`/`null`, `undefined`,
 * `0`, `[]` or `{}`; true otherwise.
 */
export function evaluateCondition(source: string, vars: TemplateVars): boolean {
  return !FALSY_TEXT.has(compiled(source).render(vars).trim());
}

/**
 * Renders every template string inside a value; lists and plain objects are recursed, other values
 * returned as they are. A string that is exactly one `{{ expression }}` (whitespace around allowed)
 * whose value is not a string gives that value itself — a number stays a number, a list a list (a
 * copy, never the context's own object); any other template string gives its rendered text.
 */
export function renderValue(value: unknown, vars: TemplateVars): unknown {
  if (typeof value === 'string') return isTemplate(value) ? compiled(value).value(vars) : value;
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, vars)]));
  return value;
}

/** Null when the template compiles, else why not (syntax error, unknown filter, refused construct). */
export function validateTemplate(source: string): string | null {
  try {
    compiled(source);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
