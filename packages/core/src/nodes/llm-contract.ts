/**
 * The JSON-in/JSON-out contract between nodes and the model (see API.md): the prompt starts with a
 * JSON object, then instructions and the JSON Schema of the answer; the answer is a JSON object,
 * possibly inside a ```json fence or after a <think>…</think> block.
 */

import { templateVars } from '../context-view.js';
import { isPermanentModelError, LlmResponseError } from '../errors.js';
import { raceSignal } from '../node-clock.js';
import { formatProblems, validateAgainstSchema } from '../schema-validation.js';
import { LazyText } from '../step-capture.js';
import { flatString } from '../strings.js';
import { renderAgain } from '../templates/index.js';
import type { CallLlm, EventEmission, JSONSchema, LlmAnswer, StoredContext } from '../types.js';
import { isThenable } from './types.js';

/** Builds a prompt: the head object, then instructions, then the answer's JSON Schema. */
export function buildPrompt(head: Record<string, unknown>, instructions: string, answerSchema: JSONSchema | null): string {
  return promptText(head, promptTail(instructions, answerSchema), undefined);
}

/** What follows a prompt's head: the instructions, then the answer's JSON Schema. */
function promptTail(instructions: string, answerSchema: JSONSchema | null): string {
  return answerSchema
    ? [instructions, '\n\nYour answer must be one JSON object matching this JSON Schema:\n', JSON.stringify(answerSchema)].join('')
    : instructions;
}

/**
 * The text of a prompt: the identity's `System: …` line (see `withSystemPrompt`), the head as JSON,
 * then the tail. Joined, not concatenated: one flat string (a `+` chain would keep every piece and
 * link of it too, about 1.6 times the text).
 */
function promptText(head: Record<string, unknown>, tail: string, systemPrompt: string | undefined): string {
  const parts = systemPrompt ? ['System: ', systemPrompt, '\n\n'] : [];
  parts.push(JSON.stringify(head, null, 2), '\n\n', tail);
  return parts.join('');
}

/**
 * {@link promptText} as the model is sent it: the same text, concatenated rather than joined. It is
 * sent, not kept (telemetry keeps its parts), so its pieces are not kept twice; a model that reads it
 * (to send it on) makes it flat then, and one that does not (a stub, a script) never copies it.
 */
function sentText(head: Record<string, unknown>, tail: string, systemPrompt: string | undefined): string {
  const text = `${JSON.stringify(head, null, 2)}\n\n${tail}`;
  return systemPrompt ? `System: ${systemPrompt}\n\n${text}` : text;
}

/**
 * What the runs of one llm node config share in their prompts while it stays the same: the context
 * fields the template refers to, the tail (instructions and answer schema), the system prompt, and the
 * template's source when its text depends on those fields alone (it is then rendered again on read).
 */
export interface PromptShape {
  readonly fields: readonly string[];
  /** What the tail was made of (it is made again only when they change). */
  readonly instructions: string;
  readonly answerSchema: JSONSchema | null;
  readonly tail: string;
  readonly systemPrompt: string | undefined;
  readonly source: string | undefined;
}

/**
 * The values a prompt shows of its shape's fields: the value itself for one field, else one per field
 * (undefined for a field the context does not have).
 */
export type PromptValues = unknown;

/** The values of `fields` as a prompt packs them (see {@link PromptValues}), read with `read`. */
export function promptValues(fields: readonly string[], read: (field: string) => unknown): PromptValues {
  if (fields.length === 1) return read(fields[0]!);
  return fields.length === 0 ? undefined : fields.map(read);
}

/** The context record a prompt shows: the fields that have a value, in the template's order. */
function promptRecord(fields: readonly string[], values: PromptValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields.length === 1) {
    if (values !== undefined) out[fields[0]!] = values;
  } else for (const [i, f] of fields.entries()) if ((values as unknown[])[i] !== undefined) out[f] = (values as unknown[])[i];
  return out;
}

/**
 * An llm node's prompt as telemetry keeps it: what the node's runs share (see {@link PromptShape})
 * and the context values it shows, by reference. The text repeats those values as JSON, and its
 * rendered template is rendered from them again: this keeps them once, in the context, and writes the
 * same text again when read. Stored values never change in place, so it is the text that was sent.
 */
export class PromptParts extends LazyText {
  constructor(
    protected readonly shape: PromptShape,
    private readonly values: PromptValues,
    readonly length: number,
  ) {
    super();
  }
  /** The rendered template, rendered again from `record` (the values it showed). */
  protected rendered(record: Record<string, unknown>): string {
    // The view a template renders with, over a context holding just those values.
    const ctx: Record<string, unknown[]> = {};
    for (const [f, v] of Object.entries(record)) ctx[f] = [v];
    return renderAgain(this.shape.source!, templateVars(ctx as StoredContext));
  }
  /** The conversation so far (none: see {@link PromptWithHistory}). */
  protected get history(): string {
    return '';
  }
  override toString(): string {
    const { fields, tail, systemPrompt } = this.shape;
    const record = promptRecord(fields, this.values);
    return promptText(llmHead(this.rendered(record), record, this.history), tail, systemPrompt);
  }
}

/** A {@link PromptParts} that keeps its rendered template (its text depends on more than the values shown). */
class RenderedPrompt extends PromptParts {
  constructor(
    shape: PromptShape,
    values: PromptValues,
    length: number,
    private readonly text: string,
  ) {
    super(shape, values, length);
  }
  protected override rendered(): string {
    return this.text;
  }
}

/** A {@link RenderedPrompt} with a conversation (a node with an identity): the others stay a slot smaller. */
class PromptWithHistory extends RenderedPrompt {
  constructor(
    shape: PromptShape,
    values: PromptValues,
    length: number,
    text: string,
    private readonly conversation: string,
  ) {
    super(shape, values, length, text);
  }
  protected override get history(): string {
    return this.conversation;
  }
}

/** The head of an llm node's prompt: the rendered template, the context fields it refers to, the conversation so far. */
const llmHead = (rendered: string, context: Record<string, unknown>, history: string): Record<string, unknown> => ({
  prompt: rendered,
  context,
  conversation_history: history,
});

// The tail made for each answer schema object (node configs that share a contract share its schema).
const tails = new WeakMap<JSONSchema, { instructions: string; tail: string }>();

function sharedTail(instructions: string, answerSchema: JSONSchema | null): string {
  if (answerSchema === null) return promptTail(instructions, null);
  const known = tails.get(answerSchema);
  if (known?.instructions === instructions) return known.tail;
  const tail = promptTail(instructions, answerSchema);
  tails.set(answerSchema, { instructions, tail });
  return tail;
}

/**
 * An llm node's prompt (with the identity's system prompt) as its text, to send, and its parts, for
 * telemetry. `holder` keeps the node config's shape, shared by its runs while it stays the same.
 * `head.fields` should be the same list for the same template; `head.source`, the template, is given
 * when its text depends on the values of `head.fields` alone.
 */
export function composeLlmPrompt(
  holder: { shape: PromptShape | undefined },
  head: { rendered: string; fields: readonly string[]; values: PromptValues; history: string; source?: string },
  instructions: string,
  answerSchema: JSONSchema | null,
  systemPrompt: string | undefined,
): { text: string; parts: PromptParts } {
  const source = head.history ? undefined : head.source;
  let shape = holder.shape;
  if (
    shape?.fields !== head.fields ||
    shape.instructions !== instructions ||
    shape.answerSchema !== answerSchema ||
    shape.systemPrompt !== systemPrompt ||
    shape.source !== source
  ) {
    const tail = sharedTail(instructions, answerSchema);
    holder.shape = shape = Object.freeze({ fields: head.fields, instructions, answerSchema, tail, systemPrompt, source });
  }
  const text = sentText(llmHead(head.rendered, promptRecord(head.fields, head.values), head.history), shape.tail, systemPrompt);
  // Kept rendered text is copied flat (a rendered template is a tree of its pieces).
  const parts = head.history
    ? new PromptWithHistory(shape, head.values, text.length, flatString(head.rendered), head.history)
    : source !== undefined
      ? new PromptParts(shape, head.values, text.length)
      : new RenderedPrompt(shape, head.values, text.length, flatString(head.rendered));
  return { text, parts };
}

/** The JSON Schema of an llm/response-stage answer. */
export function answerSchema(opts: { outputField?: string; fieldSchema?: JSONSchema; signals?: EventEmission[] }): JSONSchema {
  const key = opts.outputField ?? 'output';
  const properties: Record<string, unknown> = { [key]: opts.fieldSchema ?? {} };
  const required = [key];
  if (opts.signals?.length) {
    properties.selected_signals = {
      type: 'array',
      items: { type: 'string', enum: opts.signals.map((s) => s.signal_name) },
      description: 'the signals whose descriptions apply (any number, possibly none)',
    };
    required.push('selected_signals');
  }
  return { type: 'object', properties, required };
}

/** Instructions for choosing signals, listing each with its description. */
export function signalInstructions(signals: EventEmission[]): string {
  const lines = signals.map((s) => `- ${s.signal_name}: ${s.condition ?? ''}`);
  return `Also choose which of these signals apply and list them in "selected_signals" (any number, possibly none):\n${lines.join('\n')}`;
}

/** Finds the balanced {...} starting at `start`, skipping braces inside strings. */
function balanced(text: string, start: number): string | null {
  let depth = 0;
  let inStr = false;
  let esc = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === '\\') esc = true;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return null;
}

/**
 * Extracts the JSON value of a model answer: strips a `<think>` block, prefers a ```json fence,
 * then the whole text, then the first balanced object in it. Throws when nothing parses.
 */
export function parseAnswer(raw: string): unknown {
  let text = String(raw);
  const think = text.lastIndexOf('</think>');
  if (think >= 0) text = text.slice(think + '</think>'.length);
  text = text.trim();
  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(text);
  const candidates = fence?.[1] !== undefined ? [fence[1].trim(), text] : [text];
  for (const c of candidates) {
    try {
      return JSON.parse(c);
    } catch {
      /* try the next shape */
    }
  }
  const start = text.indexOf('{');
  if (start >= 0) {
    const chunk = balanced(text, start);
    if (chunk) {
      try {
        return JSON.parse(chunk);
      } catch {
        /* fall through */
      }
    }
  }
  throw new Error(`the answer is not JSON: ${text.slice(0, 200)}`);
}

/** Validates a parsed answer against the answer schema; throws with the problems found. */
export function checkAnswer(value: unknown, schema: JSONSchema): void {
  const problems = validateAgainstSchema(schema, value);
  if (problems.length) throw new Error(`the answer does not match the expected JSON Schema: ${formatProblems(problems)}`);
}

/** Hooks called around each model call (for counters and telemetry). */
export interface CallHooks {
  /** `prompt` is what this attempt sent (a retry's includes the rejection): the text, or the first prompt's `shownPrompt`. */
  onCall(attempt: number, latencyMs: number, error?: unknown, answer?: LlmAnswer, prompt?: string | LazyText): void;
}

/** What {@link callUntilValid} needs: the model, the prompt, how to judge an answer and what to tell. */
export interface ModelCallOptions<T> {
  callLlm: CallLlm;
  prompt: string;
  /** What telemetry shows for `prompt` (its parts, kept instead of the text); `prompt` itself by default. */
  shownPrompt?: string | LazyText;
  nodeConfig: Record<string, unknown>;
  retries: number;
  accept: (answer: string) => T;
  hooks: CallHooks;
  propagate?: (e: unknown) => boolean;
  what: string;
  /** The node's signal: passed to every call; once it fires, the call is abandoned and no retry is made. */
  signal?: AbortSignal;
}

/**
 * Calls the model until an answer passes `accept`, feeding each rejection back, up to `retries`
 * extra attempts. Throws LlmResponseError after the last one; errors from `callLlm` itself count as
 * failed attempts unless `propagate` says to rethrow them. A permanent provider error (a rejected API
 * key, an unknown model: {@link isPermanentModelError}) is rethrown at once: asking again cannot help.
 * A model that answers synchronously (a stub, a cache) is answered synchronously, with no promise
 * and no race against the signal; a promise is returned from the first call that answers with one.
 */
export function callUntilValid<T>(opts: ModelCallOptions<T>): T | Promise<T> {
  return attemptsFrom(opts, 1, opts.prompt, '');
}

/** {@link callUntilValid} from `first` on, sending `prompt`; `lastError` is the previous attempt's problem. */
function attemptsFrom<T>(opts: ModelCallOptions<T>, first: number, prompt: string, lastError: string): T | Promise<T> {
  const signal = opts.signal;
  for (let attempt = first; attempt <= opts.retries + 1; attempt++) {
    signal?.throwIfAborted();
    const started = Date.now();
    let reply: LlmAnswer;
    try {
      const raw: unknown = signal ? opts.callLlm(prompt, opts.nodeConfig, { signal }) : opts.callLlm(prompt, opts.nodeConfig);
      if (isThenable(raw)) return settleCall(opts, attempt, started, raw, prompt);
      reply = replyOf(raw);
    } catch (e) {
      lastError = failedCall(opts, attempt, started, e, prompt);
      // One retry budget per node call: requests a provider already retried count as the node's attempts,
      // so node retries × transport attempts do not multiply.
      attempt += transportAttempts(e) - 1;
      continue;
    }
    const judged = judgeAnswer(opts, attempt, started, reply, prompt);
    if (judged.accepted) return judged.value;
    lastError = judged.problem;
    prompt = judged.prompt;
  }
  throw new LlmResponseError(`${opts.what}: no usable answer after ${opts.retries + 1} attempts; last problem: ${lastError}`);
}

/** The rest of {@link callUntilValid} once a call answers with a promise: raced against the signal, judged, retried. */
async function settleCall<T>(
  opts: ModelCallOptions<T>,
  attempt: number,
  started: number,
  pending: PromiseLike<unknown>,
  prompt: string,
): Promise<T> {
  let reply: LlmAnswer;
  try {
    reply = replyOf(await raceSignal(Promise.resolve(pending), opts.signal));
  } catch (e) {
    const problem = failedCall(opts, attempt, started, e, prompt);
    return attemptsFrom(opts, attempt + transportAttempts(e), prompt, problem);
  }
  const judged = judgeAnswer(opts, attempt, started, reply, prompt);
  return judged.accepted ? judged.value : attemptsFrom(opts, attempt + 1, judged.prompt, judged.problem);
}

/** What a prompt sent is shown as: the first prompt's `shownPrompt`, a retry's own text. */
function shownFor(opts: ModelCallOptions<unknown>, sent: string): string | LazyText {
  return sent === opts.prompt ? (opts.shownPrompt ?? sent) : sent;
}

/**
 * A call that failed, recorded: rethrown when the signal fired, `propagate` says so or the error is
 * permanent; else the problem to feed back.
 */
function failedCall<T>(opts: ModelCallOptions<T>, attempt: number, started: number, e: unknown, prompt: string): string {
  opts.hooks.onCall(attempt, Date.now() - started, e, undefined, shownFor(opts, prompt));
  if (opts.signal?.aborted) throw opts.signal.reason;
  if (opts.propagate?.(e) || isPermanentModelError(e)) throw e;
  return `the model call failed: ${e instanceof Error ? e.message : String(e)}`;
}

/** An answer, recorded and judged by `accept`: its value, or the problem and the prompt to send next. */
function judgeAnswer<T>(
  opts: ModelCallOptions<T>,
  attempt: number,
  started: number,
  reply: LlmAnswer,
  prompt: string,
): { accepted: true; value: T } | { accepted: false; problem: string; prompt: string } {
  const answer = reply.text;
  opts.hooks.onCall(attempt, Date.now() - started, undefined, reply, shownFor(opts, prompt));
  try {
    return { accepted: true, value: opts.accept(answer) };
  } catch (e) {
    const problem = e instanceof Error ? e.message : String(e);
    return {
      accepted: false,
      problem,
      prompt: `${opts.prompt}\n\nYour previous answer was rejected: ${problem}\nPrevious answer:\n${answer.slice(0, 2000)}\nAnswer again with one JSON object that fixes this.`,
    };
  }
}

/** A model's answer as {@link LlmAnswer}: a plain string (or anything else) is its text. */
function replyOf(raw: unknown): LlmAnswer {
  return typeof raw === 'object' && raw !== null && typeof (raw as LlmAnswer).text === 'string'
    ? (raw as LlmAnswer)
    : { text: String(raw) };
}

/** How many requests a failed model call made: a provider's retry policy says so on its final error; otherwise 1. */
function transportAttempts(e: unknown): number {
  const n = (e as { attempts?: unknown } | null)?.attempts;
  return typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1;
}
