/**
 * Template limits, and the budget of one render. A render is bounded by the work it does, not only by
 * its loop iterations: every helper charges what it iterates (steps), the characters it reads (string
 * operations on long text) and what it builds (strings and lists, in bytes), and the clock is checked
 * as the charges add up. A budget is created per render and passed along (renders share no
 * module-level state); going over any limit is a {@link TemplateError} that names the limit.
 */
import { TemplateError } from '../errors.js';

/** Items a render may iterate, generate (`range`) or process in list filters, in total. */
export const STEP_LIMIT = 2_000_000;
/** Characters string operations (`upper`, `replace`, `in`, `count`, `==`…) may read in one render. */
export const READ_LIMIT = 256 * 1024 * 1024;
/** Bytes of strings and lists a render may build (2 bytes a character, 8 an item), in total. */
export const ALLOC_LIMIT = 256 * 1024 * 1024;
/** Wall time a render may take, in milliseconds. */
export const TIME_LIMIT_MS = 1000;
/** Characters a render may output (includes captured `{% set %}` blocks); also the longest string it may build. */
export const OUTPUT_LIMIT = 32 * 1024 * 1024;
/** Widths, repetitions and paddings (`center`, `zfill`, `'x' * n`, `range`). */
export const SIZE_LIMIT = 100_000;
/** Nesting depth of data a template converts to text or JSON. */
export const DEPTH_LIMIT = 200;

/** Bytes a built string is counted as (V8 stores up to 2 bytes a character). */
const BYTES_PER_CHAR = 2;
/** Bytes a built list item is counted as (one pointer). */
const BYTES_PER_ITEM = 8;
/** The clock is read once this many ticks have accumulated (a charge is one tick, plus one per 1,024 units charged). */
const CLOCK_EVERY = 1024;

/** Limits of one render; the defaults are the constants above. */
export interface RenderLimits {
  steps: number;
  read: number;
  alloc: number;
  timeMs: number;
}

const DEFAULT_LIMITS: RenderLimits = Object.freeze({ steps: STEP_LIMIT, read: READ_LIMIT, alloc: ALLOC_LIMIT, timeMs: TIME_LIMIT_MS });

const MIB = 1024 * 1024;
const describeBytes = (n: number) => (n % MIB === 0 ? `${n / MIB} MiB` : `${n} bytes`);

/** What one render has used so far. */
export class RenderBudget {
  private steps = 0;
  private read = 0;
  private alloc = 0;
  private outputSize = 0;
  private ticks = 0;
  private readonly started = performance.now();
  private readonly limits: RenderLimits;

  constructor(limits?: Partial<RenderLimits>) {
    this.limits = limits ? { ...DEFAULT_LIMITS, ...limits } : DEFAULT_LIMITS;
  }

  /** Counts `n` items iterated, generated or processed. */
  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.limits.steps)
      throw new TemplateError(`template exceeded its work budget of ${this.limits.steps} steps (loop iterations and list items)`);
    this.tick(n);
  }

  /** Counts `chars` characters a string operation reads (before it runs). */
  reads(chars: number): void {
    this.read += chars;
    if (this.read > this.limits.read)
      throw new TemplateError(`template exceeded its work budget of ${this.limits.read} characters read by string operations`);
    this.tick(chars);
  }

  /** Counts a string of `chars` characters the template built. */
  builtText(chars: number): void {
    this.allocated(chars * BYTES_PER_CHAR);
  }

  /** Counts a list of `items` items the template built. */
  builtList(items: number): void {
    this.allocated(items * BYTES_PER_ITEM);
  }

  /** Counts what a helper returned, unless it is its input handed back: strings and lists it built. */
  built(result: unknown, input: unknown): void {
    if (result === input) return;
    if (typeof result === 'string') this.builtText(result.length);
    else if (Array.isArray(result)) this.builtList(result.length);
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
    this.tick(s.length);
    return s;
  }

  private allocated(bytes: number): void {
    this.alloc += bytes;
    if (this.alloc > this.limits.alloc)
      throw new TemplateError(`template exceeded its memory budget of ${describeBytes(this.limits.alloc)} (strings and lists it built)`);
    this.tick(bytes);
  }

  /** Reads the clock now and then: every CLOCK_EVERY ticks, where big charges count for more. */
  private tick(size: number): void {
    this.ticks += 1 + Math.floor(size / 1024);
    if (this.ticks < CLOCK_EVERY) return;
    this.ticks = 0;
    if (performance.now() - this.started > this.limits.timeMs)
      throw new TemplateError(`template exceeded its time budget of ${this.limits.timeMs} ms`);
  }
}
