/**
 * Template limits, and the budget of one render: every helper that iterates or builds something
 * charges it here, so a template cannot hang or exhaust a worker. A budget is created per render and
 * passed along (renders share no module-level state).
 */
import { TemplateError } from '../errors.js';

/** Items a render may iterate, generate (`range`) or process in list filters, in total. */
export const STEP_LIMIT = 2_000_000;
/** Characters a render may output (includes captured `{% set %}` blocks). */
export const OUTPUT_LIMIT = 32 * 1024 * 1024;
/** Widths, repetitions and paddings (`center`, `zfill`, `'x' * n`, `range`). */
export const SIZE_LIMIT = 100_000;
/** Nesting depth of data a template converts to text or JSON. */
export const DEPTH_LIMIT = 200;

/** What one render has used so far. */
export class RenderBudget {
  private steps = 0;
  private outputSize = 0;

  /** Counts `n` items iterated, generated or processed. */
  charge(n: number): void {
    this.steps += n;
    if (this.steps > STEP_LIMIT) throw new TemplateError(`template exceeded its budget of ${STEP_LIMIT} iterations`);
  }

  /** A string a template built: refused beyond the output limit (so doubling a string in a loop stops). */
  text(s: string): string {
    if (s.length > OUTPUT_LIMIT) throw new TemplateError(`a template string exceeded ${OUTPUT_LIMIT} characters`);
    return s;
  }

  /** Refuses to build a string longer than the output limit, before building it. */
  ensureRoom(length: number): void {
    if (length > OUTPUT_LIMIT) throw new TemplateError(`a template string would exceed ${OUTPUT_LIMIT} characters`);
  }

  /** Counts text the template outputs. */
  emitted(s: string): string {
    this.outputSize += s.length;
    if (this.outputSize > OUTPUT_LIMIT) throw new TemplateError(`template output exceeded ${OUTPUT_LIMIT} characters`);
    return s;
  }
}
