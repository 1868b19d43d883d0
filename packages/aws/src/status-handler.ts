/** The status function: an execution's status, and its context and events in pages that fit Lambda's answer limit. */
import { type StoredContext, summarizeUsage, type TelemetryEvent, type UsageSummary } from '@soe/core';
import { RequestValidationError } from './errors.js';
import { type ExecutionStatusValue, getExecutionStatus } from './execution-status.js';
import { type HandlerError, isClientError, toHandlerError } from './handler-error.js';
import { createRuntimeServices, type RuntimeDeps } from './runtime-services.js';
import { jsonBytes } from './soe-table.js';
import {
  answerBudget,
  type ContextSelection,
  contextPage,
  DEFAULT_EVENTS_LIMIT,
  decodeContextCursor,
  decodeEventsCursor,
  eventsPage,
  MAX_ANSWER_BYTES,
  type OmittedValue,
} from './status-pages.js';

/**
 * The status request. An answer never exceeds 5 MiB of JSON (Lambda refuses synchronous answers over
 * 6 MB): what does not fit is left for the next request, named by `contextCursor` / `eventsCursor`.
 */
export interface StatusRequest {
  executionId: string;
  /** Also return the context: each field's newest value (as a one-value list), `__operational__`, `__parent__`. */
  includeContext?: boolean;
  /** Also return full histories: of every field (`true`), or of the named fields. */
  history?: boolean | string[];
  /** Continue the context where an earlier answer's `contextCursor` left off (same selection as that request). */
  contextCursor?: string;
  /** Also return telemetry events, oldest first. */
  events?: boolean;
  /** Events per answer. @default 1000 */
  eventsLimit?: number;
  /** Continue the events where an earlier answer's `eventsCursor` left off. */
  eventsCursor?: string;
  /** A smaller byte cap for the answer's JSON (at least 65536; never above 5 MiB). */
  maxBytes?: number;
}

/** Why an answer holds less than was asked, and how to get the rest. */
export interface StatusTruncation {
  message: string;
  /** Values larger than a whole answer: never sent (read them from the table). */
  omitted?: OmittedValue[];
  /** `__operational__.signals` holds only the newest entries: the full count. */
  signalsTotal?: number;
}

/** The status handler's answer. */
export type StatusResponse =
  | {
      executionId: string;
      status: ExecutionStatusValue;
      error?: string;
      failedNode?: string;
      failedExecutionId?: string;
      inFlight: number;
      context?: StoredContext;
      /** For each field in `context`: the history index of its first value there, and the history's length. */
      contextRanges?: Record<string, { from: number; total: number }>;
      /** More context values: send this back as `contextCursor`. */
      contextCursor?: string;
      events?: TelemetryEvent[];
      /** More events: send this back as `eventsCursor`. */
      eventsCursor?: string;
      /** Present when the answer holds less than was asked. */
      truncated?: StatusTruncation;
      /** Model calls, tokens and latency of the execution, from its llm_call events (once settled, or with `events`). */
      usage?: UsageSummary;
    }
  | HandlerError;

/** What a status request asks for, checked. */
interface StatusAsk {
  executionId: string;
  selection?: ContextSelection;
  contextCursor?: ReturnType<typeof decodeContextCursor>;
  events: boolean;
  eventsLimit: number;
  eventsOffset: number;
  budget: number;
}

/** Checks a status request, naming the field at fault. */
function parseStatusRequest(event: unknown): StatusAsk {
  if (typeof event !== 'object' || event === null) throw new RequestValidationError('the status request must be an object');
  const e = event as Record<string, unknown>;
  const executionId = e.executionId ?? e.execution_id;
  if (typeof executionId !== 'string' || executionId === '')
    throw new RequestValidationError(`'executionId' must be an execution id, got ${JSON.stringify(executionId)}`);
  const history = e.history;
  if (history !== undefined && typeof history !== 'boolean' && !(Array.isArray(history) && history.every((f) => typeof f === 'string')))
    throw new RequestValidationError(`'history' must be true or a list of field names, got ${JSON.stringify(history)}`);
  const contextCursor = e.contextCursor !== undefined ? decodeContextCursor(e.contextCursor) : undefined;
  const historySel = history === true ? true : Array.isArray(history) && history.length ? (history as string[]) : undefined;
  const selection: ContextSelection | undefined = contextCursor
    ? { newest: contextCursor.newest, ...(contextCursor.history ? { history: contextCursor.history } : {}) }
    : e.includeContext || historySel
      ? { newest: Boolean(e.includeContext), ...(historySel ? { history: historySel } : {}) }
      : undefined;
  const limit = e.eventsLimit ?? DEFAULT_EVENTS_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    throw new RequestValidationError(`'eventsLimit' must be a whole number of events, at least 1, got ${JSON.stringify(limit)}`);
  const ask: StatusAsk = {
    executionId,
    events: Boolean(e.events) || e.eventsCursor !== undefined,
    eventsLimit: limit,
    eventsOffset: e.eventsCursor !== undefined ? decodeEventsCursor(e.eventsCursor) : 0,
    budget: answerBudget(e.maxBytes),
  };
  if (selection) ask.selection = selection;
  if (contextCursor) ask.contextCursor = contextCursor;
  return ask;
}

/**
 * Creates the status handler: RUNNING while broadcasts of the execution or its children are in flight,
 * IDLE when none are, FAILED with the error (and the node) when one failed — derived from records, so
 * a client can poll it to wait for the end of a run. On request it also returns the context (newest
 * values, or histories) and the telemetry events, in pages that keep every answer under 5 MiB.
 * @example
 * const status = createStatusHandler({ dynamo, sqs, tableName, queueUrl });
 * let page = await status({ executionId, includeContext: true });
 * // page.contextCursor, when present: status({ executionId, contextCursor: page.contextCursor })
 */
export function createStatusHandler(deps: RuntimeDeps): (event: StatusRequest) => Promise<StatusResponse> {
  const services = createRuntimeServices(deps, 'soe-status');
  return async (event) => {
    try {
      const ask = parseStatusRequest(event);
      const { executionId } = ask;
      const s = await getExecutionStatus(services.backends.table, executionId);
      const out: Exclude<StatusResponse, HandlerError> = { executionId, status: s.status, inFlight: s.inFlight };
      if (s.error) out.error = s.error;
      if (s.failedNode) out.failedNode = s.failedNode;
      if (s.failedExecutionId) out.failedExecutionId = s.failedExecutionId;
      if (s.status === 'NOT_FOUND') return out;
      let budget = ask.budget;
      const truncation: StatusTruncation = { message: '' };
      const more: string[] = [];
      if (ask.selection) {
        const ctx = await services.backends.context.getContext(executionId);
        const page = contextPage(ctx, ask.selection, budget, ask.budget, ask.contextCursor);
        out.context = page.context;
        out.contextRanges = page.ranges;
        budget -= page.bytes;
        if (page.cursor) {
          out.contextCursor = page.cursor;
          more.push('context values (send contextCursor back)');
        }
        if (page.omitted.length) truncation.omitted = page.omitted;
        if (page.signalsTotal !== undefined) truncation.signalsTotal = page.signalsTotal;
      }
      // Clients poll while RUNNING: read the telemetry only when asked for it or once the run has settled.
      if (ask.events || s.status !== 'RUNNING') {
        const events = await services.backends.telemetry.getEvents(executionId);
        out.usage = summarizeUsage(events);
        if (ask.events) {
          const page = eventsPage(events, ask.eventsOffset, ask.eventsLimit, Math.max(0, budget), ask.budget);
          out.events = page.events;
          if (page.cursor) {
            out.eventsCursor = page.cursor;
            more.push('events (send eventsCursor back)');
          }
        }
      }
      if (more.length || truncation.omitted || truncation.signalsTotal !== undefined) {
        const parts = [];
        if (more.length) parts.push(`the answer is capped at ${MAX_ANSWER_BYTES} bytes: more ${more.join(' and ')}`);
        if (truncation.omitted) parts.push(`${truncation.omitted.length} value(s) larger than an answer are left out (see omitted)`);
        if (truncation.signalsTotal !== undefined)
          parts.push(`__operational__.signals holds the newest of its ${truncation.signalsTotal} signals`);
        truncation.message = `${parts.join('; ')}`;
        out.truncated = truncation;
      }
      return guardSize(out);
    } catch (e) {
      if (!isClientError(e)) throw e;
      return toHandlerError(e);
    }
  };
}

/** Last line of defence: an answer that would still be too large loses its pages rather than fail in Lambda. */
function guardSize(out: Exclude<StatusResponse, HandlerError>): StatusResponse {
  if (jsonBytes(out) <= MAX_ANSWER_BYTES) return out;
  const { context: _c, contextRanges: _r, events: _e, contextCursor: _cc, eventsCursor: _ec, ...rest } = out;
  return {
    ...rest,
    truncated: { message: `the answer would exceed ${MAX_ANSWER_BYTES} bytes: ask again with a smaller maxBytes or eventsLimit` },
  };
}
