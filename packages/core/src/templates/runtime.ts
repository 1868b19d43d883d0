/**
 * The runtime handed to compiled templates instead of nunjucks' own: one {@link TemplateRuntime} per
 * render, holding that render's budget and scratch state, and {@link run}, which renders a compiled
 * template with it. Compiled code reaches template values only through these methods.
 */
import nunjucks from 'nunjucks';
import { accumulate } from '../context-view.js';
import { TemplateError } from '../errors.js';
import type { TemplateVars } from '../types.js';
import { RenderBudget, type RenderLimits, SIZE_LIMIT } from './budget.js';
import { applyFilter, GLOBALS, runTest } from './filters.js';
import { memberLookup, percentFormat, slice } from './methods.js';
import { compare, contains, dataOnly, describeType, eq, Helper, isNumeric, isPlainObject, KwArgs, num, str, truthy } from './values.js';

/** The `context` object compiled code receives: render variables, `{% set %}` variables, globals. */
export class RenderContext {
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

/** A scope frame of nunjucks' generated code. */
export interface Frame {
  lookup(name: string): unknown;
  topLevel: boolean;
}

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
function iter(budget: RenderBudget, v: unknown, targets: number): unknown[] {
  if (Array.isArray(v)) {
    budget.charge(v.length);
    return v;
  }
  if (v === undefined || v === null) return [];
  // Charged before the list of characters or keys is built.
  if (typeof v === 'string') {
    budget.charge(v.length);
    budget.builtList(v.length);
    return Array.from(v);
  }
  if (isPlainObject(v)) {
    const out = targets > 1 ? Object.entries(v) : Object.keys(v);
    budget.charge(out.length);
    budget.builtList(out.length);
    return out;
  }
  throw new TemplateError(`${describeType(v)} is not iterable`);
}

/**
 * `a ~ b` and `a + b` on strings. V8 joins strings without copying them, so what the template builds
 * is the shorter side (doubling a string is charged its new half; appending a line, the line); text
 * converted from other values (lists and dicts print as JSON) is charged in full.
 */
function joinTwo(budget: RenderBudget, sa: string, sb: string, a: unknown, b: unknown): string {
  const out = budget.text(sa + sb);
  budget.builtText(Math.min(sa.length, sb.length) + (typeof a === 'string' ? 0 : sa.length) + (typeof b === 'string' ? 0 : sb.length));
  return out;
}

function add(budget: RenderBudget, a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' && typeof b === 'string') return joinTwo(budget, a, b, a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    budget.charge(a.length + b.length);
    budget.builtList(a.length + b.length);
    return [...a, ...b];
  }
  if (isNumeric(a) && isNumeric(b)) return Number(a) + Number(b);
  throw new TemplateError(`unsupported operands for '+': ${describeType(a)} and ${describeType(b)} (use '~' to join text)`);
}

function mul(budget: RenderBudget, a: unknown, b: unknown): unknown {
  if (isNumeric(a) && isNumeric(b)) return Number(a) * Number(b);
  const [seq, times] = isNumeric(a) ? [b, a] : [a, b];
  if ((typeof seq === 'string' || Array.isArray(seq)) && isNumeric(times)) {
    const n = Math.max(0, Math.trunc(Number(times)));
    if (seq.length * n > SIZE_LIMIT) throw new TemplateError(`repetition is limited to ${SIZE_LIMIT} items`);
    budget.charge(seq.length * n);
    if (typeof seq === 'string') {
      budget.builtText(seq.length * n);
      return seq.repeat(n);
    }
    budget.builtList(seq.length * n);
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

/** nunjucks' scope frame, as its generated code uses it. */
interface NunjucksFrameLike extends Frame {
  variables: Record<string, unknown>;
  set(name: string, value: unknown, resolveUp?: boolean): void;
  push(isolateWrites?: boolean): NunjucksFrameLike;
}
type FrameCtor = new (parent?: NunjucksFrameLike, isolateWrites?: boolean) => NunjucksFrameLike;
const NunjucksFrame = (nunjucks as unknown as { runtime: { Frame: FrameCtor } }).runtime.Frame;

/**
 * nunjucks' frame, except that a dotted write (`loop.index`, which the generated code makes on every
 * iteration) goes into a record the frame made itself. nunjucks writes through whatever value the
 * name holds, so `{% set loop = context.order %}` inside a loop would have it write `index`, `first`,
 * `length`… into the context's own object.
 */
class SandboxFrame extends NunjucksFrame {
  /** The records this frame made for dotted names, by head name. */
  readonly #records = new Map<string, Record<string, unknown>>();

  override set(name: string, value: unknown, resolveUp?: boolean): void {
    const dot = name.indexOf('.');
    if (dot < 0) {
      super.set(name, value, resolveUp);
      return;
    }
    if (resolveUp) throw new TemplateError(`cannot assign to '${name}'`);
    const head = name.slice(0, dot);
    let record = this.#records.get(head);
    if (record === undefined || this.variables[head] !== record) {
      record = {};
      this.#records.set(head, record);
      this.variables[head] = record;
    }
    record[name.slice(dot + 1)] = value;
  }

  override push(isolateWrites?: boolean): NunjucksFrameLike {
    return new SandboxFrame(this, isolateWrites);
  }
}

type Comparison = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'same';

/**
 * The runtime compiled templates receive as `runtime`, one per render. Built from scratch (not a copy
 * of nunjucks' runtime), so compiled code can reach nothing else.
 */
export class TemplateRuntime {
  /** The left operand of the `and`/`or` being evaluated (Python returns an operand, not a boolean). */
  kept: unknown = undefined;
  /** The value of a single-expression template (see {@link TemplateRuntime.capture}). */
  captured: unknown = undefined;
  constructor(readonly budget: RenderBudget) {}

  // Used by nunjucks' generated code for scopes and loops.
  get Frame(): FrameCtor {
    return SandboxFrame;
  }
  isArray(v: unknown): boolean {
    return Array.isArray(v);
  }
  keys(o: object): string[] {
    return Object.keys(o);
  }
  fromIterator(v: unknown): unknown {
    return v;
  }
  handleError(e: unknown): unknown {
    return e;
  }
  makeKeywordArgs(o: Record<string, unknown>): KwArgs {
    return new KwArgs(o);
  }
  contextOrFrameLookup(context: RenderContext, frame: Frame, name: string): unknown {
    const v = frame.lookup(name);
    return v !== undefined ? v : context.lookup(name);
  }
  memberLookup(obj: unknown, key: unknown): unknown {
    return memberLookup(obj, key);
  }
  callWrap(obj: unknown, name: string, _context: unknown, args: unknown[]): unknown {
    if (obj instanceof Helper) return obj.invoke(this.budget, args);
    if (obj === undefined || obj === null) throw new TemplateError(`'${name}' is undefined and cannot be called`);
    throw new TemplateError(`'${name}' is not callable in a template`);
  }
  // Output: every value is converted by str(); the size of the output is capped.
  out(v: unknown): string {
    return this.budget.emitted(str(v));
  }
  lit(s: string): string {
    return this.budget.emitted(s);
  }
  // Python semantics for operators.
  truthy(v: unknown): boolean {
    return truthy(v);
  }
  keep(v: unknown): boolean {
    this.kept = v;
    return truthy(v);
  }
  eq(a: unknown, b: unknown): boolean {
    return eq(a, b, this.budget);
  }
  ne(a: unknown, b: unknown): boolean {
    return !eq(a, b, this.budget);
  }
  lt(a: unknown, b: unknown): boolean {
    return compare('<', a, b);
  }
  gt(a: unknown, b: unknown): boolean {
    return compare('>', a, b);
  }
  le(a: unknown, b: unknown): boolean {
    return compare('<=', a, b);
  }
  ge(a: unknown, b: unknown): boolean {
    return compare('>=', a, b);
  }
  same(a: unknown, b: unknown): boolean {
    return a === b;
  }
  /** Chained comparisons (`0 < x < 10`): each pair compared, each operand evaluated once. */
  chain(values: unknown[], opsJson: string): boolean {
    const ops = JSON.parse(opsJson) as Comparison[];
    for (let i = 0; i < ops.length; i++) if (!this[ops[i]!](values[i], values[i + 1])) return false;
    return true;
  }
  inOperator(item: unknown, container: unknown): boolean {
    return contains(container, item, this.budget);
  }
  concat(a: unknown, b: unknown): string {
    return joinTwo(this.budget, str(a), str(b), a, b);
  }
  add(a: unknown, b: unknown): unknown {
    return add(this.budget, a, b);
  }
  sub(a: unknown, b: unknown): number {
    return num(a, '-') - num(b, '-');
  }
  mul(a: unknown, b: unknown): unknown {
    return mul(this.budget, a, b);
  }
  div(a: unknown, b: unknown): number {
    return num(a, '/') / divisor(b, '/');
  }
  floordiv(a: unknown, b: unknown): number {
    return Math.floor(num(a, '//') / divisor(b, '//'));
  }
  mod(a: unknown, b: unknown): unknown {
    // 'Hello %s' % name, as in Python.
    if (typeof a === 'string') {
      this.budget.reads(a.length);
      const out = this.budget.text(percentFormat(a, Array.isArray(b) ? b : [b]));
      this.budget.builtText(out.length);
      return out;
    }
    const d = divisor(b, '%');
    const r = num(a, '%') % d;
    return r !== 0 && r < 0 !== d < 0 ? r + d : r;
  }
  pow(a: unknown, b: unknown): number {
    return num(a, '**') ** num(b, '**');
  }
  neg(a: unknown): number {
    return -num(a, '-');
  }
  pos(a: unknown): number {
    return num(a, '+');
  }
  test(name: string, value: unknown, ...args: unknown[]): boolean {
    return runTest(this.budget, name, value, args);
  }
  filter(name: string, value: unknown, ...args: unknown[]): unknown {
    return applyFilter(this.budget, name, value, args);
  }
  // Rewritten constructs.
  accField(context: RenderContext, field: string): unknown[] {
    return accField(context, field);
  }
  iter(v: unknown, targets: number): unknown[] {
    return iter(this.budget, v, targets);
  }
  slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
    return slice(this.budget, obj, start, stop, step);
  }
  capture(v: unknown): string {
    this.captured = v;
    return '';
  }
}

/** Names of the runtime's methods, which the compiler emits calls to. */
export type RuntimeName = Exclude<keyof TemplateRuntime, 'budget' | 'kept' | 'captured' | 'Frame'>;

/** Runtime helpers the rewriter may call through an `RtCall` node, and whether they take the context. */
export const RT_CALLS: ReadonlyMap<string, boolean> = new Map([
  ['truthy', false],
  ['accField', true],
  ['iter', false],
  ['slice', false],
  ['capture', false],
] satisfies [RuntimeName, boolean][]);

/** What compiled code receives as `env`: it only reads `env.opts.autoescape` (off). */
const ENV = Object.freeze({ opts: Object.freeze({ autoescape: false }) });

/** The root function of a compiled template, as nunjucks' code generator shapes it. */
export type RootFn = (
  env: unknown,
  context: RenderContext,
  frame: Frame,
  runtime: TemplateRuntime,
  cb: (err: unknown, res: string) => void,
) => void;

/** Any error of a render or a compile as a {@link TemplateError}. */
export function asTemplateError(e: unknown): TemplateError {
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

/** Renders a compiled template with a fresh runtime (and budget); returns the text and that runtime. */
export function run(root: RootFn, vars: TemplateVars, limits?: Partial<RenderLimits>): { text: string; runtime: TemplateRuntime } {
  let error: unknown = null;
  let result = '';
  const runtime = new TemplateRuntime(new RenderBudget(limits));
  const frame = new SandboxFrame();
  frame.topLevel = true;
  root(ENV, new RenderContext(vars), frame, runtime, (err, res) => {
    error = err;
    result = res;
  });
  if (error) throw asTemplateError(error);
  return { text: result, runtime };
}
