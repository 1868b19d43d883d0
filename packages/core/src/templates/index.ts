/**
 * Jinja-syntax templates, parsed by nunjucks and compiled by a sandboxing subclass of its compiler,
 * with a compatibility layer for the Jinja that SOE workflows are written in.
 *
 * Templates come from configs that callers send and from nodes that a model injects at run time, so
 * evaluation must never reach constructors, prototypes, `process`, the module system or any function
 * but the whitelisted helpers. Three layers enforce that, and none of them touches nunjucks' shared
 * state (its runtime, its environments and other users of the library are left as they are):
 *
 * 1. **Compile-time check of the AST** (`check.ts`). Only a whitelist of node types is accepted: no
 *    include/import/extends/block/macro/call blocks, no regex literals. Every name must be a plain
 *    identifier; names of `Object.prototype` members (`constructor`, `__proto__`, `toString`, …) are
 *    refused as variables, as `.attribute`/`['key']` lookups and as dict keys. A call must name a
 *    whitelisted global (`range`, `dict`, `cycler`, `joiner`), a variable the template `set`, or a
 *    whitelisted string/dict/list method. Filters and tests must be known ones.
 * 2. **A compiler that emits no name unescaped and no raw JavaScript operator on template values**
 *    (`compiler.ts`).
 *    nunjucks pastes some names into the generated code as they are (`x is "…"` and call labels are
 *    code injection in stock nunjucks); here every name is either a validated identifier or a
 *    JSON-quoted string. Member access, calls, `in`, comparisons, arithmetic, `~`, `and`/`or`/`not`,
 *    truthiness, iteration and output all go through the methods of a `TemplateRuntime` (`runtime.ts`),
 *    created for each render and handed to the compiled template instead of nunjucks' runtime.
 * 3. **A runtime that only ever hands data to a template** (`runtime.ts`, `methods.ts`, `filters.ts`). A member lookup returns an own data
 *    property of a plain object/array (or a string index), or a {@link Helper} for a whitelisted
 *    method; a lookup of a blocked key, or of anything on a helper or a function, throws. A JS
 *    function is never handed out (a function found in data reads as undefined); the only callables
 *    are `Helper` objects, which are not functions, and `callWrap` calls nothing else. Output,
 *    `~`, `tojson` and the string helpers convert values with their own code, never with a value's
 *    `toString`/`valueOf`/`toJSON`. Iteration, `range` and string repetition share a per-render
 *    budget (`budget.ts`), and output is capped, so a template cannot hang or exhaust a worker.
 *
 * This module is the public API: compiling with a cache, rendering, conditions, validation.
 */
import { TemplateError } from '../errors.js';
import type { CompiledTemplate, TemplateVars } from '../types.js';
import { build, Compiled } from './compiler.js';
import { asTemplateError } from './runtime.js';
import { isPlainObject } from './values.js';

export type { CompiledTemplate, TemplateVars } from '../types.js';
export { TEMPLATE_HELPERS } from './filters.js';

/** Compiled templates kept in the cache. */
const CACHE_LIMIT = 5000;

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
