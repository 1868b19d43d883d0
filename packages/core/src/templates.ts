/**
 * Jinja-syntax templates on nunjucks, with a compatibility layer for what SOE workflows use and a
 * sandbox. Templates come from configs callers send and from nodes a model injects at run time, so
 * evaluation must never reach constructors, prototypes, `process`, the module system or any function
 * but the whitelisted helpers. Two layers enforce that:
 *
 * 1. At compile time the AST is checked: no include/import/extends/macro/call blocks, no call of
 *    anything but a whitelisted global or method, no name or string literal that is a blocked key
 *    (`constructor`, `__proto__`, …), no unknown filter.
 * 2. At render time nunjucks' member lookup, call, `in` and output hooks are replaced (only while one
 *    of our templates renders): a lookup returns own data properties of plain data only, or a safe
 *    wrapper for a whitelisted method; calls accept only those wrappers; a function is never output.
 */
import nunjucks from 'nunjucks';
import { accumulate } from './context-view.js';
import { TemplateError } from './errors.js';

/** Variables a template renders with: `context` holds each field's newest value, `history` the histories. */
export type TemplateVars = { context: Record<string, unknown>; history?: Record<string, unknown[]>; [k: string]: unknown };

/** A compiled template. */
export interface CompiledTemplate {
  render(vars: TemplateVars): string;
}

// ---------------------------------------------------------------------------------------------
// The sandboxed runtime
// ---------------------------------------------------------------------------------------------

/** Keys no template may read, whatever the object. */
const BLOCKED_KEYS = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'call',
  'apply',
  'bind',
  'caller',
  'callee',
  'arguments',
  'valueOf',
  'toString',
  'toLocaleString',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'process',
  'require',
  'module',
  'exports',
  'global',
  'globalThis',
  'eval',
  'Function',
  'import',
  'this',
  'self',
  'window',
]);

/** Functions templates may call: our wrappers only. */
const SAFE_FUNCTIONS = new WeakSet<object>();
function safe<T extends (...args: never[]) => unknown>(fn: T): T {
  SAFE_FUNCTIONS.add(fn);
  return fn;
}

const isPlainData = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || Array.isArray(v);
};

const pyStr = (v: unknown): string => {
  if (v === undefined) return '';
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') throw new TemplateError('a template cannot output a function');
  try {
    return JSON.stringify(v);
  } catch {
    return '';
  }
};

/** Python-like methods on strings. */
const STRING_METHODS: Record<string, (s: string, ...a: unknown[]) => unknown> = {
  startswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.startsWith(String(x))) : s.startsWith(String(p))),
  endswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.endsWith(String(x))) : s.endsWith(String(p))),
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  strip: (s, c) => (c === undefined ? s.trim() : trimChars(s, String(c), true, true)),
  lstrip: (s, c) => (c === undefined ? s.trimStart() : trimChars(s, String(c), true, false)),
  rstrip: (s, c) => (c === undefined ? s.trimEnd() : trimChars(s, String(c), false, true)),
  split: (s, sep, max) => {
    const parts = sep === undefined || sep === null ? s.trim().split(/\s+/).filter(Boolean) : s.split(String(sep));
    if (typeof max === 'number' && max >= 0 && parts.length > max + 1)
      return [...parts.slice(0, max), parts.slice(max).join(String(sep ?? ' '))];
    return parts;
  },
  replace: (s, a, b) => s.split(String(a)).join(String(b)),
  title: (s) => s.replace(/\w\S*/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s),
  find: (s, sub) => s.indexOf(String(sub)),
  count: (s, sub) => (String(sub) === '' ? s.length + 1 : s.split(String(sub)).length - 1),
  join: (s, items) => (Array.isArray(items) ? items.map(pyStr).join(s) : ''),
  isdigit: (s) => /^\d+$/.test(s),
  isalpha: (s) => /^[A-Za-z]+$/.test(s),
  isalnum: (s) => /^[A-Za-z0-9]+$/.test(s),
  isspace: (s) => /^\s+$/.test(s),
  isupper: (s) => s !== s.toLowerCase() && s === s.toUpperCase(),
  islower: (s) => s !== s.toUpperCase() && s === s.toLowerCase(),
  zfill: (s, n) => s.padStart(Number(n), '0'),
  format: (s, ...args) => {
    let i = 0;
    return s.replace(/\{(\d*)\}/g, (_m, k: string) => pyStr(args[k === '' ? i++ : Number(k)]));
  },
};

function trimChars(s: string, chars: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  while (left && a < b && chars.includes(s[a]!)) a++;
  while (right && b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** Python-like read-only methods on dicts. */
const DICT_METHODS: Record<string, (d: Record<string, unknown>, ...a: unknown[]) => unknown> = {
  get: (d, k, def = null) => (Object.hasOwn(d, String(k)) ? d[String(k)] : def),
  items: (d) => Object.entries(d),
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
};

/** Python-like read-only methods on lists. */
const LIST_METHODS: Record<string, (l: unknown[], ...a: unknown[]) => unknown> = {
  index: (l, v) => l.indexOf(v),
  count: (l, v) => l.filter((x) => x === v).length,
};

const wrappers = new WeakMap<object, Map<string, unknown>>();
function method(obj: object | string, name: string, impl: (o: never, ...a: unknown[]) => unknown): unknown {
  // Strings are not WeakMap keys; their wrappers are cheap to make.
  if (typeof obj === 'string') return safe((...a: unknown[]) => impl(obj as never, ...a));
  let byName = wrappers.get(obj);
  if (!byName) wrappers.set(obj, (byName = new Map()));
  let fn = byName.get(name);
  if (!fn) byName.set(name, (fn = safe((...a: unknown[]) => impl(obj as never, ...a))));
  return fn;
}

/** The only way a template reads a member. */
function safeMemberLookup(obj: unknown, key: unknown): unknown {
  if (obj === undefined || obj === null) return undefined;
  if (typeof key !== 'string' && typeof key !== 'number') return undefined;
  const k = String(key);
  if (BLOCKED_KEYS.has(k)) return undefined;
  if (typeof obj === 'string') {
    if (/^-?\d+$/.test(k)) {
      const i = Number(k);
      return obj[i < 0 ? obj.length + i : i];
    }
    if (k === 'length') return obj.length;
    const m = STRING_METHODS[k];
    return m ? method(obj, k, m as never) : undefined;
  }
  if (Array.isArray(obj)) {
    if (/^-?\d+$/.test(k)) {
      const i = Number(k);
      return dataOnly(obj[i < 0 ? obj.length + i : i]);
    }
    if (k === 'length') return obj.length;
    const m = LIST_METHODS[k];
    return m ? method(obj, k, m as never) : undefined;
  }
  if (isPlainData(obj)) {
    if (Object.hasOwn(obj, k)) return dataOnly(obj[k]);
    const m = DICT_METHODS[k];
    return m ? method(obj, k, m as never) : undefined;
  }
  return undefined;
}

/** Values read from data are data: a function found in data (it should never be there) reads as undefined. */
const dataOnly = (v: unknown): unknown => (typeof v === 'function' && !SAFE_FUNCTIONS.has(v) ? undefined : v);

type Runtime = {
  memberLookup: (obj: unknown, val: unknown) => unknown;
  callWrap: (obj: unknown, name: string, context: unknown, args: unknown[]) => unknown;
  suppressValue: (val: unknown, autoescape: boolean) => unknown;
  inOperator: (key: unknown, val: unknown) => boolean;
};
type Lib = { getAttrGetter: (attr: string) => (obj: unknown) => unknown };

const runtime = (nunjucks as unknown as { runtime: Runtime }).runtime;
const lib = (nunjucks as unknown as { lib: Lib }).lib;
const original = {
  memberLookup: runtime.memberLookup,
  callWrap: runtime.callWrap,
  suppressValue: runtime.suppressValue,
  inOperator: runtime.inOperator,
  getAttrGetter: lib.getAttrGetter,
};
/** Depth of our renders in progress: the hooks below act only then, so other nunjucks users are untouched. */
let sandboxDepth = 0;

runtime.memberLookup = (obj, val) => (sandboxDepth > 0 ? safeMemberLookup(obj, val) : original.memberLookup(obj, val));
runtime.callWrap = (obj, name, context, args) => {
  if (sandboxDepth > 0 && (typeof obj !== 'function' || !SAFE_FUNCTIONS.has(obj))) {
    throw new TemplateError(`'${name}' cannot be called in a template`);
  }
  return original.callWrap(obj, name, context, args);
};
runtime.suppressValue = (val, autoescape) => (sandboxDepth > 0 ? pyStr(val) : original.suppressValue(val, autoescape));
runtime.inOperator = (key, val) => {
  if (sandboxDepth > 0) {
    if (Array.isArray(val))
      return val.some((x) => x === key || (isPlainData(x) && isPlainData(key) && JSON.stringify(x) === JSON.stringify(key)));
    if (typeof val === 'string') return typeof key === 'string' && val.includes(key);
    if (isPlainData(val)) return typeof key === 'string' && Object.hasOwn(val, key);
    if (val === undefined || val === null) return false;
    throw new TemplateError(`cannot use 'in' on a ${typeof val}`);
  }
  return original.inOperator(key, val);
};
lib.getAttrGetter = (attr) => {
  if (sandboxDepth === 0) return original.getAttrGetter(attr);
  const parts = String(attr).split('.');
  return (obj) => parts.reduce<unknown>((o, p) => safeMemberLookup(o, p), obj);
};

// ---------------------------------------------------------------------------------------------
// The environment: no loaders, no autoescape, whitelisted globals and extra filters
// ---------------------------------------------------------------------------------------------

const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false });
const envGlobals = (env as unknown as { globals: Record<string, unknown> }).globals;
for (const k of Object.keys(envGlobals)) delete envGlobals[k];
Object.setPrototypeOf(envGlobals, null);

const rangeFn = safe((a: unknown, b?: unknown, step: unknown = 1): number[] => {
  let start = Number(a);
  let stop = Number(b);
  if (b === undefined) {
    stop = start;
    start = 0;
  }
  const s = Number(step) || 1;
  const n = Math.max(0, Math.ceil((stop - start) / s));
  if (n > 100_000) throw new TemplateError('range() is limited to 100000 items');
  return Array.from({ length: n }, (_, i) => start + i * s);
});

/** Globals every template sees. */
const GLOBALS: Record<string, unknown> = { range: rangeFn, True: true, False: false, None: null };
for (const [k, v] of Object.entries(GLOBALS)) envGlobals[k] = v;

type Kwargs = Record<string, unknown> & { __keywords?: true };
const kw = (args: unknown[]): Kwargs => {
  const last = args[args.length - 1] as Kwargs | undefined;
  return last && typeof last === 'object' && last.__keywords ? last : {};
};
const positional = (args: unknown[]) => (Object.keys(kw(args)).length ? args.slice(0, -1) : args);

const tests = (env as unknown as { tests: Record<string, (...a: unknown[]) => boolean> }).tests;
function applyTest(value: unknown, test: unknown, arg: unknown[]): boolean {
  if (test === undefined) return Boolean(value) && !(Array.isArray(value) && value.length === 0);
  const name = String(test);
  const aliases: Record<string, string> = { '==': 'equalto', eq: 'equalto', '!=': 'ne', '>': 'gt', '<': 'lt', '>=': 'ge', '<=': 'le' };
  const fn = tests[aliases[name] ?? name];
  if (name === 'ne') return value !== arg[0];
  if (!fn) throw new TemplateError(`unknown test '${name}'`);
  return Boolean(fn.call({}, value, ...arg));
}

const FILTERS: Record<string, (...a: unknown[]) => unknown> = {
  accumulated: (v) => (Array.isArray(v) ? accumulate(v) : v === undefined || v === null ? [] : [v]),
  tojson: (v, indent) => JSON.stringify(v ?? null, null, typeof indent === 'number' ? indent : undefined),
  selectattr: (arr, ...rest) => {
    const [attr, test, ...arg] = positional(rest);
    const get = lib.getAttrGetter(String(attr));
    return Array.isArray(arr) ? arr.filter((x) => applyTest(get(x), test, arg)) : [];
  },
  rejectattr: (arr, ...rest) => {
    const [attr, test, ...arg] = positional(rest);
    const get = lib.getAttrGetter(String(attr));
    return Array.isArray(arr) ? arr.filter((x) => !applyTest(get(x), test, arg)) : [];
  },
  select: (arr, test, ...arg) => (Array.isArray(arr) ? arr.filter((x) => applyTest(x, test, arg)) : []),
  reject: (arr, test, ...arg) => (Array.isArray(arr) ? arr.filter((x) => !applyTest(x, test, arg)) : []),
  map: (arr, ...rest) => {
    if (!Array.isArray(arr)) return [];
    const k = kw(rest);
    if (k.attribute !== undefined) {
      const get = lib.getAttrGetter(String(k.attribute));
      return arr.map((x) => get(x) ?? k.default ?? undefined);
    }
    const [name, ...args] = positional(rest);
    const f = FILTERS[String(name)] ?? builtinFilters[String(name)];
    if (!f) throw new TemplateError(`map: unknown filter '${String(name)}'`);
    return arr.map((x) => f(x, ...args));
  },
  items: (d) => (isPlainData(d) && !Array.isArray(d) ? Object.entries(d) : []),
  max: (arr) => (Array.isArray(arr) && arr.length ? arr.reduce((a, b) => ((b as number) > (a as number) ? b : a)) : undefined),
  min: (arr) => (Array.isArray(arr) && arr.length ? arr.reduce((a, b) => ((b as number) < (a as number) ? b : a)) : undefined),
  unique: (arr) => (Array.isArray(arr) ? [...new Set(arr)] : []),
  bool: (v) => Boolean(v),
  fromjson: (v) => {
    try {
      return JSON.parse(String(v));
    } catch {
      return undefined;
    }
  },
};
const builtinFilters = (env as unknown as { filters: Record<string, (...a: unknown[]) => unknown> }).filters;
for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn);

/** Names of the globals and filters a template can use (for docs and error messages). */
export const TEMPLATE_HELPERS: readonly string[] = [...Object.keys(GLOBALS), ...Object.keys(builtinFilters)].sort();

// ---------------------------------------------------------------------------------------------
// Compile-time checks
// ---------------------------------------------------------------------------------------------

type AstNode = { typename: string; [k: string]: unknown };
const FORBIDDEN_NODES = new Set([
  'Include',
  'Import',
  'FromImport',
  'Extends',
  'Macro',
  'Caller',
  'CallExtension',
  'CallExtensionAsync',
  'Super',
  'Block',
  'FilterAsync',
  'IfAsync',
  'AsyncEach',
  'AsyncAll',
]);
const CALLABLE_METHODS = new Set([...Object.keys(STRING_METHODS), ...Object.keys(DICT_METHODS), ...Object.keys(LIST_METHODS)]);
const CALLABLE_GLOBALS = new Set(['range']);

function checkAst(node: unknown, problems: string[]): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) checkAst(n, problems);
    return;
  }
  const n = node as AstNode;
  const type = n.typename;
  if (FORBIDDEN_NODES.has(type)) problems.push(`'${type.toLowerCase()}' is not allowed in templates`);
  if (type === 'Symbol' && typeof n.value === 'string' && BLOCKED_KEYS.has(n.value))
    problems.push(`'${n.value}' is not accessible in templates`);
  if (type === 'Literal' && typeof n.value === 'string' && BLOCKED_KEYS.has(n.value))
    problems.push(`'${n.value}' is not accessible in templates`);
  if (type === 'FunCall') {
    const callee = n.name as AstNode;
    const ok =
      (callee?.typename === 'Symbol' && CALLABLE_GLOBALS.has(String(callee.value))) ||
      (callee?.typename === 'LookupVal' &&
        (callee.val as AstNode)?.typename === 'Literal' &&
        CALLABLE_METHODS.has(String((callee.val as AstNode).value)));
    if (!ok)
      problems.push(
        `only ${[...CALLABLE_GLOBALS].join(', ')} and data methods (${[...CALLABLE_METHODS].slice(0, 6).join(', ')}, …) can be called in templates`,
      );
  }
  if (type === 'Filter' || type === 'FilterAsync') {
    const name = String((n.name as AstNode)?.value ?? '');
    if (!Object.hasOwn(builtinFilters, name)) problems.push(`unknown filter '${name}'`);
  }
  for (const [k, v] of Object.entries(n)) if (k !== 'typename' && typeof v === 'object') checkAst(v, problems);
}

/** `context.x | accumulated` reads the history of x: point such lookups at the histories. */
function rewriteAccumulated(source: string): string {
  return source.replace(
    /\bcontext\s*(\.\s*[A-Za-z_]\w*|\[\s*(['"])[^'"]+\2\s*\])(\s*\|\s*accumulated\b)/g,
    (_m, access: string, _q: string, filter: string) => `__history__${access}${filter}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

const CACHE_LIMIT = 5000;
const cache = new Map<string, CompiledTemplate | TemplateError>();

/** True when a string contains template syntax. */
export function isTemplate(source: string): boolean {
  return source.includes('{{') || source.includes('{%');
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .replace(/^\(unknown path\)\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Compiles a template once (cached by source). Throws TemplateError for syntax errors, unknown
 * filters and anything the sandbox forbids.
 */
export function compileTemplate(source: string): CompiledTemplate {
  const hit = cache.get(source);
  if (hit instanceof TemplateError) throw hit;
  if (hit) return hit;
  let result: CompiledTemplate | TemplateError;
  try {
    const rewritten = rewriteAccumulated(source);
    const parser = (nunjucks as unknown as { parser: { parse: (s: string, ext: unknown[], opts: unknown) => unknown } }).parser;
    const ast = parser.parse(rewritten, [], (env as unknown as { opts: unknown }).opts);
    const problems: string[] = [];
    checkAst(ast, problems);
    if (problems.length) throw new TemplateError([...new Set(problems)].join('; '));
    const tmpl = new nunjucks.Template(rewritten, env, undefined, true);
    result = {
      render(vars: TemplateVars): string {
        const ctx: Record<string, unknown> = Object.create(null);
        for (const k of Object.keys(vars)) if (k !== 'history') ctx[k] = vars[k];
        ctx.__history__ = vars.history ?? {};
        sandboxDepth++;
        try {
          return tmpl.render(ctx);
        } catch (e) {
          if (e instanceof TemplateError) throw e;
          throw new TemplateError(`template error: ${firstLine(e)}`, { cause: e });
        } finally {
          sandboxDepth--;
        }
      },
    };
  } catch (e) {
    result = e instanceof TemplateError ? e : new TemplateError(firstLine(e), { cause: e });
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, result);
  if (result instanceof TemplateError) throw result;
  return result;
}

/** Compiles (cached) and renders. Errors are TemplateError. */
export function renderTemplate(source: string, vars: TemplateVars): string {
  return compileTemplate(source).render(vars);
}

const FALSY_TEXT = new Set(['', 'false', 'False', 'none', 'None', 'null', '0', '[]', '{}', 'undefined']);

/** Renders a condition and reads the text as a boolean, the way the engine decides whether to emit. */
export function evaluateCondition(source: string, vars: TemplateVars): boolean {
  return !FALSY_TEXT.has(renderTemplate(source, vars).trim());
}

const SINGLE_EXPRESSION = /^\s*\{\{([\s\S]*?)\}\}\s*$/;

/**
 * Renders every template string inside a value (objects and lists recursed). A string that is one
 * `{{ expression }}` gives the expression's value itself when it is not a string (a number, list…).
 */
export function renderValue(value: unknown, vars: TemplateVars): unknown {
  if (typeof value === 'string') {
    if (!isTemplate(value)) return value;
    const single = SINGLE_EXPRESSION.exec(value);
    if (single && !single[1]!.includes('}}') && !single[1]!.includes('{{')) {
      const json = renderTemplate(`{{ (${single[1]}) | tojson }}`, vars);
      if (json !== '' && json !== 'null') {
        try {
          const parsed = JSON.parse(json) as unknown;
          if (typeof parsed !== 'string') return parsed;
        } catch {
          /* fall back to text */
        }
      }
    }
    return renderTemplate(value, vars);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, vars)]));
  }
  return value;
}

/** Null when the template compiles, else the reason. */
export function validateTemplate(source: string): string | null {
  if (!isTemplate(source)) return null;
  try {
    compileTemplate(source);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
