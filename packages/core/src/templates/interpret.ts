/**
 * Plain templates — text with `{{ name.key… }}` outputs, filters allowed — rendered by walking their
 * parts with the same runtime calls, in the same order, as their compiled code would make. Compiled
 * code is a function of its own per template: a workflow with hundreds of prompts runs each of them
 * too rarely for the JIT to optimize it, and keeps each one's code; this one walker serves them all.
 */
import { flatString } from '../strings.js';
import type { TemplateVars } from '../types.js';
import { childrenOf, type NjNode, nodeOf } from './ast.js';
import { RenderBudget, type RenderLimits } from './budget.js';
import { asTemplateError, type Frame, RenderContext, TemplateRuntime } from './runtime.js';

/** An expression of a plain template. */
export type PlanExpr =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'member'; readonly target: PlanExpr; readonly key: string | number }
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null }
  | { readonly kind: 'filter'; readonly name: string; readonly args: readonly PlanExpr[] };

/** A plain template: its text pieces (strings) and outputs, in order. */
export type Plan = readonly (string | PlanExpr)[];

/** The plan of a checked, rewritten template, or null when it is not plain (any other construct). */
export function planOf(root: NjNode): Plan | null {
  if (root.typename !== 'Root') return null;
  const plan: (string | PlanExpr)[] = [];
  for (const output of childrenOf(root)) {
    if (output.typename !== 'Output') return null;
    for (const child of childrenOf(output)) {
      if (child.typename === 'TemplateData') {
        // As the compiler: an empty piece emits nothing.
        // Copied flat: a piece of the source is a slice of it, and rendering would read both.
        if (child.value) plan.push(flatString(String(child.value)));
        continue;
      }
      const expr = planExpr(child);
      if (expr === null) return null;
      plan.push(sharedExpr(expr));
    }
  }
  // A copy at its size: kept as long as the template is, and a list grown by push keeps 16 spare slots.
  return plan.slice();
}

// Outputs written alike in many templates (`{{ context.answer }}` in every prompt of a workflow) share
// one frozen expression: a walk over many templates then reads one, not one per template. Up to this many.
const sharedExprs = new Map<string, PlanExpr>();
const SHARED_EXPRS = 4096;

/** The one frozen expression written as `expr` is (see {@link sharedExprs}). */
function sharedExpr(expr: PlanExpr): PlanExpr {
  const key = JSON.stringify(expr);
  const known = sharedExprs.get(key);
  if (known) return known;
  const frozen = deepFreezeExpr(expr);
  if (sharedExprs.size < SHARED_EXPRS) sharedExprs.set(key, frozen);
  return frozen;
}

function deepFreezeExpr(expr: PlanExpr): PlanExpr {
  if (expr.kind === 'member') deepFreezeExpr(expr.target);
  else if (expr.kind === 'filter') {
    for (const a of expr.args) deepFreezeExpr(a);
    Object.freeze(expr.args);
  }
  return Object.freeze(expr);
}

/** The plan of an expression, or null when it is not plain. */
export function planExpr(n: NjNode): PlanExpr | null {
  switch (n.typename) {
    case 'Symbol':
      return typeof n.value === 'string' ? { kind: 'name', name: n.value } : null;
    case 'Literal': {
      const v = n.value;
      return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? { kind: 'literal', value: v } : null;
    }
    case 'LookupVal': {
      const key = nodeOf(n.val);
      const target = planExpr(nodeOf(n.target));
      if (target === null || key.typename !== 'Literal' || (typeof key.value !== 'string' && typeof key.value !== 'number')) return null;
      return { kind: 'member', target, key: key.value };
    }
    case 'Filter': {
      const args: PlanExpr[] = [];
      for (const a of childrenOf(n.args)) {
        const e = planExpr(a);
        if (e === null) return null;
        args.push(e);
      }
      const name = nodeOf(n.name).value;
      return typeof name === 'string' && args.length > 0 ? { kind: 'filter', name, args: args.slice() } : null;
    }
    default:
      return null;
  }
}

// A plain template sets no variable: names resolve in the render context, as from an empty top frame.
const TOP_FRAME: Frame = Object.freeze({ lookup: () => undefined, topLevel: true });

function evaluate(e: PlanExpr, runtime: TemplateRuntime, context: RenderContext): unknown {
  switch (e.kind) {
    case 'name':
      return runtime.contextOrFrameLookup(context, TOP_FRAME, e.name);
    case 'member':
      return runtime.memberLookup(evaluate(e.target, runtime, context), e.key);
    case 'literal':
      return e.value;
    case 'filter': {
      const args = e.args.map((a) => evaluate(a, runtime, context));
      return runtime.filter(e.name, args[0], ...args.slice(1));
    }
  }
}

/** Renders a plan with a fresh runtime and budget, as `run` renders compiled code. */
export function renderPlan(plan: Plan, vars: TemplateVars, limits?: Partial<RenderLimits>): string {
  const runtime = new TemplateRuntime(new RenderBudget(limits));
  const context = new RenderContext(vars);
  let output = '';
  try {
    for (const part of plan) output += typeof part === 'string' ? runtime.lit(part) : runtime.out(evaluate(part, runtime, context));
  } catch (e) {
    throw asTemplateError(e);
  }
  return output;
}

/** The value of a plain expression, with a fresh runtime and budget (a single-expression template's value). */
export function evaluatePlan(expr: PlanExpr, vars: TemplateVars): unknown {
  const runtime = new TemplateRuntime(new RenderBudget());
  try {
    const v = evaluate(expr, runtime, new RenderContext(vars));
    runtime.out('');
    return v;
  } catch (e) {
    throw asTemplateError(e);
  }
}
