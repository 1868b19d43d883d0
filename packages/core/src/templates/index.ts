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
import { type Plan, renderPlan } from './interpret.js';
import { asTemplateError } from './runtime.js';
import { isPlainObject } from './values.js';

export type { CompiledTemplate, TemplateVars } from '../types.js';
export { TEMPLATE_HELPERS } from './filters.js';

/** Compiled templates kept in the cache. */
const CACHE_ENTRIES = 5000;
/**
 * Bytes of template source the cache may hold (2 a character); what a compiled template holds grows
 * with its source, so this bounds the cache's memory where a count alone would not.
 */
const CACHE_BYTES = 16 * 1024 * 1024;

type CacheEntry = Compiled | TemplateError;

const sourceBytes = (source: string) => source.length * 2;

/**
 * Compiled templates (and compile errors) by source text, bounded in count and in bytes of source.
 * Evicts oldest first, sparing once those used since they were last considered (a second chance).
 */
class TemplateCache {
  readonly #entries = new Map<string, CacheEntry>();
  #bytes = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(source: string): CacheEntry | undefined {
    const hit = this.#entries.get(source);
    if (hit instanceof Compiled) hit.hot = true;
    return hit;
  }

  /** Keeps an entry, evicting others to make room; a source larger than the whole cache is not kept. */
  add(source: string, entry: CacheEntry): void {
    const size = sourceBytes(source);
    if (size > this.maxBytes) return;
    while (this.#entries.size > 0 && (this.#entries.size >= this.maxEntries || this.#bytes + size > this.maxBytes)) this.#evictOne();
    this.#entries.set(source, entry);
    this.#bytes += size;
  }

  #evictOne(): void {
    for (const [key, entry] of this.#entries) {
      this.#entries.delete(key);
      if (entry instanceof Compiled && entry.hot) {
        entry.hot = false;
        this.#entries.set(key, entry);
        continue;
      }
      this.#bytes -= sourceBytes(key);
      return;
    }
  }
}

const cache = new TemplateCache(CACHE_ENTRIES, CACHE_BYTES);

function compiled(source: string): Compiled {
  const hit = cache.get(source);
  if (hit !== undefined) {
    if (hit instanceof TemplateError) throw hit;
    return hit;
  }
  let entry: CacheEntry;
  try {
    entry = build(source);
  } catch (e) {
    entry = asTemplateError(e);
  }
  cache.add(source, entry);
  if (entry instanceof TemplateError) throw entry;
  return entry;
}

/** True when `source` contains template syntax (`{{` or `{%`); other strings are used as they are. */
export function isTemplate(source: string): boolean {
  return source.includes('{{') || source.includes('{%');
}

/**
 * Compiles a template, once: the result is cached by source text (up to 5,000 templates and
 * 16 MiB of source). Throws
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
  return renderIn(value, vars, undefined, '');
}

/** Where a template sits in a config: named by the errors of {@link renderTemplateAt} and {@link renderValueAt}. */
export interface TemplateSite {
  workflow: string;
  node: string;
  /** The node's field (`prompt`, `identity`, `parameters`). */
  field: string;
}

const siteText = (site: TemplateSite, field: string) => `workflow '${site.workflow}', node '${site.node}', field '${field}'`;

/** The error of a template at a site, its message prefixed with where the template is. */
function located(e: unknown, site: TemplateSite, field: string): TemplateError {
  const err = asTemplateError(e);
  return new TemplateError(`${siteText(site, field)}: ${err.message}`, { cause: err });
}

/** {@link renderTemplate}, for the engine: an error names the workflow, node and field of the template. */
export function renderTemplateAt(source: string, vars: TemplateVars, site: TemplateSite): string {
  try {
    return compiled(source).render(vars);
  } catch (e) {
    throw located(e, site, site.field);
  }
}

/**
 * {@link compileTemplate}, for the engine: an error names the workflow, node and field of the template.
 * @internal
 */
export function compileTemplateAt(source: string, site: TemplateSite): CompiledTemplate {
  try {
    return compiled(source);
  } catch (e) {
    throw located(e, site, site.field);
  }
}

/**
 * Renders a template from {@link compileTemplateAt}: an error names the workflow, node and field.
 * @internal
 */
export function renderCompiledAt(template: CompiledTemplate, vars: TemplateVars, site: TemplateSite): string {
  try {
    return template.render(vars);
  } catch (e) {
    throw located(e, site, site.field);
  }
}

/**
 * The plan of a template from {@link compileTemplateAt}, when it is a plain one: a caller that keeps
 * it renders it with {@link renderPlanAt}, without reading the compiled record.
 * @internal
 */
export function planOfTemplate(template: CompiledTemplate): Plan | null {
  return template instanceof Compiled ? template.plan : null;
}

/**
 * Renders a plan from {@link planOfTemplate}; an error names the workflow, node and field (the site
 * is made only then).
 * @internal
 */
export function renderPlanAt(plan: Plan, vars: TemplateVars, site: () => TemplateSite): string {
  try {
    return renderPlan(plan, vars);
  } catch (e) {
    const at = site();
    throw located(e, at, at.field);
  }
}

/**
 * {@link renderValue}, for the engine: an error names the workflow, node and the path of the failing
 * template inside the field (`parameters.query`, `parameters.items[0]`).
 */
export function renderValueAt(value: unknown, vars: TemplateVars, site: TemplateSite): unknown {
  return renderIn(value, vars, site, site.field);
}

function renderIn(value: unknown, vars: TemplateVars, site: TemplateSite | undefined, path: string): unknown {
  if (typeof value === 'string') {
    if (!isTemplate(value)) return value;
    if (site === undefined) return compiled(value).value(vars);
    try {
      return compiled(value).value(vars);
    } catch (e) {
      throw located(e, site, path);
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => renderIn(v, vars, site, site ? `${path}[${i}]` : path));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderIn(v, vars, site, site ? `${path}.${k}` : path)]));
  return value;
}

/**
 * The context fields a template's text depends on when it depends on nothing else (then rendering it
 * again with those fields' values gives the same text), or null. Throws as {@link compileTemplate}.
 * @internal
 */
export function contextReadsOf(source: string): readonly string[] | null {
  return compiled(source).reads;
}

/**
 * Renders again a template that rendered before with the same values (see {@link contextReadsOf}):
 * with no time limit, as the first render's time says nothing of a busy machine's.
 * @internal
 */
export function renderAgain(source: string, vars: TemplateVars): string {
  return compiled(source).render(vars, UNTIMED);
}
const UNTIMED = Object.freeze({ timeMs: Number.POSITIVE_INFINITY });

/** Null when the template compiles, else why not (syntax error, unknown filter, refused construct). */
export function validateTemplate(source: string): string | null {
  try {
    compiled(source);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
