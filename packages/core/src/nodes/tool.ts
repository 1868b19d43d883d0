/** The tool node: calls a registered tool with checked arguments and stores its result. */
import { copyValue, markOwnedValues } from '../backends/apply-update.js';
import { didYouMean } from '../config-keys.js';
import { historyOf, mergeUpdates, newest, templateVars } from '../context-view.js';
import { isRetryable, ToolNodeConfigurationError, ToolParameterError, ToolResultError } from '../errors.js';
import { raceClock, raceSignal } from '../node-clock.js';
import { findUnserialisable } from '../orchestrate.js';
import { formatProblems, validateAgainstSchema } from '../schema-validation.js';
import { renderValueAt } from '../templates/index.js';
import type { ToolCallContext } from '../types.js';
import { emissionsOf, emitWhere, unconditionalOf } from './emissions.js';
import {
  addCounter,
  addTo,
  appendField,
  isThenable,
  type NodeClock,
  type NodeExecutor,
  type NodeOutcome,
  type NodeRun,
  type NodeServices,
  type ResolvedTool,
  siteOf,
  startOutcome,
  type ToolContext,
} from './types.js';

/**
 * The argument a tool node passes: inline `parameters`, or (a copy of) the `context_parameter_field`
 * value.
 */
export function toolArguments(run: NodeRun, tool: ResolvedTool): unknown {
  const node = run.node;
  if (node.parameters !== undefined && node.parameters !== null)
    return renderValueAt(node.parameters, templateVars(run.context), siteOf(run, 'parameters'));
  const field = node.context_parameter_field;
  if (typeof field === 'string') {
    if (tool.processAccumulated) return [...historyOf(run.context, field)];
    const value = newest(run.context, field);
    return value === undefined ? {} : copyValue(value);
  }
  return tool.processAccumulated ? [] : {};
}

/**
 * The arguments as telemetry shows them: the stored context value a tool's copy was made from (as it
 * was when passed, whatever the tool does to its copy, and kept once instead of twice), else the
 * arguments themselves.
 */
function shownArguments(run: NodeRun, tool: ResolvedTool, args: unknown): unknown {
  const field = run.node.context_parameter_field;
  if (run.node.parameters !== undefined && run.node.parameters !== null) return args;
  if (typeof field !== 'string' || tool.processAccumulated) return args;
  return newest(run.context, field) ?? args;
}

/** Validates arguments against the tool's JSON Schema; throws ToolParameterError naming the field. */
export function checkToolArguments(tool: ResolvedTool, args: unknown): void {
  if (!tool.parameters || tool.processAccumulated) return;
  const problems = validateAgainstSchema(tool.parameters, args);
  if (problems.length) throw new ToolParameterError(tool.name, formatProblems(problems), problems[0]?.field);
}

/** The tool context for a node run; state changes land in the outcome. */
export function toolContext(run: NodeRun, services: NodeServices, outcome: NodeOutcome): ToolContext {
  return {
    executionId: run.executionId,
    mainExecutionId: run.context.__operational__?.main_execution_id ?? run.executionId,
    workflowName: run.workflowName,
    nodeName: run.nodeName,
    context: run.context,
    backends: services.backends,
    services,
    update: (u) => {
      outcome.update = mergeUpdates(outcome.update, u);
    },
    updateOther: (executionId, u) => {
      if (executionId === run.executionId) outcome.update = mergeUpdates(outcome.update, u);
      else addTo(outcome, 'foreignUpdates', { executionId, update: u });
    },
    emit: (signals) => {
      addTo(outcome, 'extraEmit', ...signals);
    },
    get signal() {
      return signalOf(run);
    },
  };
}

/** The run's signal, made when a tool first reads it (most never do). */
function signalOf(run: NodeRun): AbortSignal {
  return run.signal ?? new AbortController().signal;
}

/** What a user tool gets as its second argument. */
class UserToolContext implements ToolCallContext {
  readonly executionId: string;
  readonly workflowName: string;
  readonly nodeName: string;
  constructor(private readonly run: NodeRun) {
    this.executionId = run.executionId;
    this.workflowName = run.workflowName;
    this.nodeName = run.nodeName;
  }
  get signal(): AbortSignal {
    return signalOf(this.run);
  }
}

/** What a user tool gets as its second argument. */
export function userToolContext(run: NodeRun): ToolCallContext {
  return new UserToolContext(run);
}

/** Why a tool call may not (go on) run: the node's time is up, or its context's signal aborted. */
function timeUp(clock: NodeClock | undefined, signal: AbortSignal | undefined): unknown {
  return clock?.reason ?? (signal?.aborted ? signal.reason : undefined);
}

/** Told of each attempt of a tool call: a function, or a record with an `attempted` method (no closure per call). */
export type AttemptListener =
  | ((attempt: number, error?: unknown, result?: unknown) => void)
  | { attempted(attempt: number, error?: unknown, result?: unknown): void };

function tell(listener: AttemptListener, attempt: number, error?: unknown, result?: unknown): void {
  if (typeof listener === 'function') listener(attempt, error, result);
  else listener.attempted(attempt, error, result);
}

/**
 * Calls a tool with its retry budget; returns the result or throws the last error. Each attempt is
 * raced against the node's clock (or, without one, the context's signal): once the node's time is up,
 * the attempt is abandoned and the timeout error is thrown without further attempts. A tool that
 * answers synchronously is answered synchronously (no promise, no race: it cannot be interrupted);
 * a promise is returned from the first attempt that answers with one.
 */
export function callToolWithRetries(
  tool: ResolvedTool,
  args: unknown,
  onAttempt: AttemptListener,
  ctx?: ToolContext | ToolCallContext,
  clock?: NodeClock,
  firstAttempt = 1,
): unknown {
  // Read only without a clock: the clock races a promise, so the signal is never made for the race.
  const signal = clock ? undefined : ctx?.signal;
  let lastError: unknown;
  for (let attempt = firstAttempt; attempt <= 1 + tool.maxRetries; attempt++) {
    if (timeUp(clock, signal) !== undefined) throw timeUp(clock, signal);
    let value: unknown;
    try {
      value = ctx ? tool.fn(args, ctx) : tool.fn(args);
    } catch (e) {
      tell(onAttempt, attempt, e);
      lastError = e;
      if (timeUp(clock, signal) !== undefined) throw timeUp(clock, signal);
      continue;
    }
    if (isThenable(value)) return settleAttempt(tool, args, onAttempt, ctx, clock, signal, attempt, value);
    tell(onAttempt, attempt, undefined, value);
    return value;
  }
  throw lastError;
}

/** The rest of {@link callToolWithRetries} once an attempt answers with a promise: raced, then retried if it fails. */
async function settleAttempt(
  tool: ResolvedTool,
  args: unknown,
  onAttempt: AttemptListener,
  ctx: ToolContext | ToolCallContext | undefined,
  clock: NodeClock | undefined,
  signal: AbortSignal | undefined,
  attempt: number,
  pending: PromiseLike<unknown>,
): Promise<unknown> {
  let result: unknown;
  try {
    result = await (clock ? raceClock(Promise.resolve(pending), clock) : raceSignal(Promise.resolve(pending), signal));
  } catch (e) {
    tell(onAttempt, attempt, e);
    if (timeUp(clock, signal) !== undefined) throw timeUp(clock, signal);
    if (attempt >= 1 + tool.maxRetries) throw e;
    return callToolWithRetries(tool, args, onAttempt, ctx, clock, attempt + 1);
  }
  tell(onAttempt, attempt, undefined, result);
  return result;
}

/**
 * Checks a tool's arguments, then calls it with its retries, counting every call in `tool_calls` and
 * logging it as a `tool_call` event (with `shownArgs` as its arguments). Built-ins get the tool
 * context. Shared by tool and agent nodes. Synchronous when the tool answers synchronously (see
 * {@link callToolWithRetries}): the result, or a promise of it.
 */
export function invokeTool(
  run: NodeRun,
  services: NodeServices,
  outcome: NodeOutcome,
  tool: ResolvedTool,
  args: unknown,
  telemetryExtra: Record<string, unknown> = NO_EXTRA,
  shownArgs: unknown = args,
): unknown {
  checkToolArguments(tool, args);
  const call = new ToolCall(run, services, outcome, tool, shownArgs, telemetryExtra);
  const result = callToolWithRetries(
    tool,
    args,
    call,
    tool.builtin ? toolContext(run, services, outcome) : userToolContext(run),
    run.clock,
  );
  return result instanceof Promise ? result.then((r) => call.answered(r)) : call.answered(result);
}

const NO_EXTRA: Record<string, unknown> = Object.freeze({});

/**
 * One tool call of a node (see {@link invokeTool}): counts its attempts in `tool_calls` and logs each
 * as a `tool_call` event, a failed one at once and the one that answered with its result. One record
 * per call, rather than closures over the call's state.
 */
class ToolCall {
  private readonly started = Date.now();
  private succeeded = 0;
  private succeededMs = 0;
  constructor(
    private readonly run: NodeRun,
    private readonly services: NodeServices,
    private readonly outcome: NodeOutcome,
    private readonly tool: ResolvedTool,
    private readonly shownArgs: unknown,
    private readonly telemetryExtra: Record<string, unknown>,
  ) {}

  attempted(attempt: number, error?: unknown): void {
    addCounter(this.outcome, 'tool_calls');
    if (error === undefined) {
      this.succeeded = attempt;
      this.succeededMs = Date.now() - this.started;
    } else this.log(attempt, Date.now() - this.started, error);
  }

  /** The result the tool answered with, checked, copied and logged. */
  answered(result: unknown): unknown {
    // Checked here, so every runtime refuses the same values with the same words (backends differ in what they would drop or throw).
    const bad = findUnserialisable(result, 'the result');
    if (bad) {
      this.log(this.succeeded, this.succeededMs, undefined, result);
      throw new ToolResultError(`tool '${this.tool.name}' returned a value that cannot be stored: ${bad}`);
    }
    // The engine's own copy, taken as the tool returned it: telemetry shows it and the context stores
    // it (see executeTool), so whatever the tool later does to its object changes neither.
    const copy = copyValue(result);
    this.log(this.succeeded, this.succeededMs, undefined, copy);
    return copy;
  }

  private log(attempt: number, ms: number, error: unknown, result?: unknown): void {
    const data: Record<string, unknown> = {
      node_name: this.run.nodeName,
      tool_name: this.tool.name,
      attempt,
      ok: error === undefined,
      duration_ms: ms,
    };
    if (error !== undefined) data.error = errorMessage(error);
    // Step I/O: capped and redacted by the engine's telemetry (step-capture.ts).
    data.arguments = this.shownArgs;
    if (error === undefined) data.result = result === undefined ? null : result;
    for (const key in this.telemetryExtra) data[key] = this.telemetryExtra[key];
    void this.services.telemetry(this.run.executionId, 'tool_call', data, true);
  }
}

/** An error's message, for storing in the context. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Tool: calls a registered function with arguments from `parameters` or `context_parameter_field`,
 * stores the result in `output_field`, then emits the emissions whose conditions hold (they see
 * `result` and `context`). When every attempt fails (a built-in's refusal included), the error counts
 * in `errors`, its text goes to `output_field`, no emission fires, and the registry's `failureSignal` is
 * emitted; without one the node fails.
 */
export const executeTool: NodeExecutor = async (run, services) => executeToolNow(run, services);

/**
 * {@link executeTool}, answering with the outcome itself when the tool answers synchronously (most
 * tools are plain functions): no promise per call, and no race against the node's clock.
 */
export function executeToolNow(run: NodeRun, services: NodeServices): NodeOutcome | Promise<NodeOutcome> {
  const outcome = startOutcome(run.nodeName);
  const toolName = String(run.node.tool_name);
  const tool = services.resolveTool(toolName);
  if (!tool) {
    throw new ToolNodeConfigurationError([
      {
        workflow: run.workflowName,
        node: run.nodeName,
        field: 'tool_name',
        message: `tool '${toolName}' not found in the tools registry (registered: ${services.toolNames().join(', ') || 'none'})${didYouMean(toolName, services.toolNames())}`,
      },
    ]);
  }
  let result: unknown;
  try {
    const args = toolArguments(run, tool);
    result = invokeTool(run, services, outcome, tool, args, {}, shownArguments(run, tool, args));
  } catch (e) {
    return toolFailed(run, services, outcome, tool, e);
  }
  if (result instanceof Promise)
    return result.then(
      (r) => toolAnswered(run, services, outcome, r),
      (e) => toolFailed(run, services, outcome, tool, e),
    );
  return toolAnswered(run, services, outcome, result);
}

/** A tool node's outcome once every attempt failed (see {@link executeTool}). */
function toolFailed(run: NodeRun, services: NodeServices, outcome: NodeOutcome, tool: ResolvedTool, e: unknown): NodeOutcome {
  if (services.propagateTransient && isRetryable(e)) throw e;
  // Every failure counts, routed or not, so an errors-based circuit breaker sees it.
  addCounter(outcome, 'errors');
  const outputField = outputFieldOf(run);
  if (outputField) appendField(outcome, outputField, errorMessage(e));
  if (tool.failureSignal) {
    outcome.emit = [tool.failureSignal];
    outcome.handledError = e instanceof Error ? e : new Error(String(e));
    return outcome;
  }
  outcome.error = e instanceof Error ? e : new Error(String(e));
  return outcome;
}

/** A tool node's outcome once its tool answered: the result stored, the emissions chosen. */
function toolAnswered(run: NodeRun, services: NodeServices, outcome: NodeOutcome, result: unknown): NodeOutcome {
  const outputField = outputFieldOf(run);
  if (outputField) {
    // The result is invokeTool's copy: when it is all this update appends, the store keeps it as it is.
    const onlyOutput = outcome.update.fields === undefined;
    appendField(outcome, outputField, result === undefined ? null : result);
    if (onlyOutput) markOwnedValues(outcome.update);
  }
  // The view is built only when a condition reads it.
  const vars = () => templateVars(run.context, outcome.update, { result });
  const emitted = unconditionalOf(run) ?? emitWhere(run, services, emissionsOf(run.node), vars);
  outcome.emit = outcome.extraEmit.length ? emitted.concat(outcome.extraEmit) : emitted;
  return outcome;
}

const outputFieldOf = (run: NodeRun): string | undefined => (typeof run.node.output_field === 'string' ? run.node.output_field : undefined);
