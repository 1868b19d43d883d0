/**
 * Compiling a checked template: the rewriter (Python constants, `accumulated` on context fields,
 * truthiness, loops, slices), a nunjucks compiler subclass that routes every value-touching construct
 * through the runtime and quotes every emitted name, and {@link Compiled}, which renders the result.
 */

import { TemplateError } from '../errors.js';
import type { CompiledTemplate, TemplateVars } from '../types.js';
import {
  COMPILABLE,
  calleeLabel,
  childrenOf,
  IDENT,
  literal,
  N,
  type NjNode,
  nj,
  nodeList,
  nodeOf,
  RtCall,
  SandboxParser,
  testOf,
} from './ast.js';
import type { RenderLimits } from './budget.js';
import { check, collectSetNames } from './check.js';
import { FILTERS, TESTS } from './filters.js';
import { evaluatePlan, type Plan, type PlanExpr, planExpr, planOf, renderPlan } from './interpret.js';
import { contextReads } from './reads.js';
import { type RootFn, RT_CALLS, type RuntimeName, run, type TemplateRuntime } from './runtime.js';
import { copyData, str } from './values.js';

const q = (s: string) => JSON.stringify(s);
const BOOLEAN_NODES = new Set(['Compare', 'Is', 'In', 'Not']);

/**
 * nunjucks' compiler with every construct that touches a template value routed through the runtime ({@link TemplateRuntime})
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

// ---------------------------------------------------------------------------------------------
// Rewriting: Python constants, `accumulated` on context fields, truthiness, loops, slices
// ---------------------------------------------------------------------------------------------

const CONSTANTS = new Map<string, boolean | null>([
  ['True', true],
  ['False', false],
  ['None', null],
]);

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

// ---------------------------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------------------------

function generate(root: NjNode): RootFn {
  const compiler = new SandboxCompiler(undefined, false);
  compiler.compile(root, null);
  // The code is generated from the checked AST by the compiler above: every name in it is a checked
  // identifier or a JSON-quoted string, and every value-touching operation calls the runtime.
  const props = new Function(compiler.getCode())() as { root: RootFn };
  return props.root;
}

/**
 * A compiled template: a constant, a plain template's plan (see `interpret.ts`) or compiled code,
 * plus, for one `{{ expression }}`, that expression.
 */
export class Compiled implements CompiledTemplate {
  /** Used since it was last considered for eviction (the cache's second chance). */
  hot = false;
  constructor(
    private readonly root: RootFn | null,
    private readonly constant: string,
    private readonly single: { root: RootFn | null; expr: PlanExpr | null; lead: string; trail: string } | null,
    /** The context fields the text depends on, when it depends on nothing else (see `contextReads`). */
    readonly reads: readonly string[] | null = [],
    /** A plain template's plan (see `interpret.ts`), else null. */
    readonly plan: Plan | null = null,
  ) {}

  render(vars: TemplateVars, limits?: Partial<RenderLimits>): string {
    if (this.plan !== null) return renderPlan(this.plan, vars, limits);
    return this.root === null ? this.constant : run(this.root, vars, limits).text;
  }

  /** The value of a single-expression template (renderValue); otherwise the rendered text. */
  value(vars: TemplateVars): unknown {
    const single = this.single;
    if (single === null) return this.render(vars);
    const v = single.expr !== null ? evaluatePlan(single.expr, vars) : run(single.root!, vars).runtime.captured;
    if (v === undefined || typeof v === 'string') return single.lead + str(v) + single.trail;
    return copyData(v);
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

/**
 * Parses, checks, rewrites and compiles a template (uncached). Errors are {@link TemplateError}s.
 * `compile`: compiled code even for a plain template (tests compare the two).
 */
export function build(source: string, options: { compile?: boolean } = {}): Compiled {
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
  const reads = contextReads(ast);
  const root = rewrite(ast);
  const single = singleExpression(root);
  const plan = options.compile ? null : planOf(root);
  if (plan !== null) {
    const expr = single ? planExpr(single.expr) : null;
    return new Compiled(null, '', single && expr ? { root: null, expr, lead: single.lead, trail: single.trail } : null, reads, plan);
  }
  try {
    const main = generate(root);
    if (!single) return new Compiled(main, '', null, reads);
    const at = single.expr;
    const exprRoot = new N.Root!(0, 0, [new N.Output!(at.lineno, at.colno, [rtCall(at, 'capture', [at])])]);
    return new Compiled(main, '', { root: generate(exprRoot), expr: null, lead: single.lead, trail: single.trail }, reads);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    throw syntaxError(e);
  }
}
