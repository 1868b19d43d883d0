/** A client of a deployed stack: start, signal and status requests, with every page followed. */
import type { StoredContext, TelemetryEvent } from '@soe/core';
import { RemoteError } from '../errors.js';
import { LambdaInvoker } from './lambda-invoker.js';
import type { FunctionKind, RemoteOptions } from './remote-options.js';
import { resolveFunction } from './resolve-function.js';

/** The start request the deployed start function takes. */
export interface RemoteStartRequest {
  config?: string;
  workflowName?: string;
  initialWorkflowName: string;
  initialSignals: string[];
  initialContext?: Record<string, unknown>;
}

/** The status function's answer. */
export interface RemoteStatus {
  executionId: string;
  status: 'RUNNING' | 'IDLE' | 'FAILED' | 'CANCELLED' | 'NOT_FOUND';
  inFlight: number;
  error?: string;
  failedNode?: string;
  failedExecutionId?: string;
  context?: StoredContext;
  /** For each field in `context`: the history index of its first value there, and the history's length. */
  contextRanges?: Record<string, { from: number; total: number }>;
  /** More context values to read (the status answer is capped at 5 MiB). */
  contextCursor?: string;
  events?: TelemetryEvent[];
  /** More events to read. */
  eventsCursor?: string;
  /** Why the answer holds less than was asked. */
  truncated?: { message: string; omitted?: Array<{ field: string; index: number; bytes: number }>; signalsTotal?: number };
  /** Model calls and tokens of the execution. */
  usage?: { calls: number; input_tokens: number; output_tokens: number; latency_ms: number };
}

/** What a status read returns besides the status itself; every page is followed. */
export interface StatusReadOptions {
  /** Each field's newest value. */
  includeContext?: boolean;
  /** Full histories: of every field, or of the named ones. */
  history?: boolean | string[];
  /** Telemetry events. */
  events?: boolean;
}

/** Adds one status page's context values and events to what earlier pages gave. */
export function mergeStatusPage(into: RemoteStatus, page: RemoteStatus): void {
  if (page.context) {
    into.context ??= {};
    into.contextRanges ??= {};
    for (const [field, values] of Object.entries(page.context)) {
      if (field.startsWith('__')) {
        into.context[field] ??= values as never;
        continue;
      }
      const range = page.contextRanges?.[field];
      const known = into.contextRanges[field];
      if (!known) {
        into.context[field] = [...(values as unknown[])];
        if (range) into.contextRanges[field] = { ...range };
      } else {
        (into.context[field] as unknown[]).push(...(values as unknown[]));
        if (range) known.total = range.total;
      }
    }
  }
  if (page.events) (into.events ??= []).push(...page.events);
  if (page.truncated?.omitted) {
    into.truncated ??= { message: '' };
    (into.truncated.omitted ??= []).push(...page.truncated.omitted);
  }
}

/** How {@link SoeRemote.waitFor} ended. */
export interface WaitResult {
  status: RemoteStatus;
  timedOut: boolean;
}

/** One broadcast a redrive re-sent. */
export interface RemoteRedriven {
  executionId: string;
  failedBroadcastId: string;
  broadcastId: string;
  signals: string[];
  error: string;
}

/** A deployed SOE stack, driven through its start, signal and status functions. */
export class SoeRemote {
  private readonly invoker: LambdaInvoker;
  private readonly names = new Map<FunctionKind, string>();

  constructor(
    private readonly opts: RemoteOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.invoker = new LambdaInvoker(opts, env);
  }

  private async call(kind: FunctionKind, payload: unknown): Promise<Record<string, unknown>> {
    let name = this.names.get(kind);
    if (!name) this.names.set(kind, (name = await resolveFunction(kind, this.opts, this.env)));
    return this.invoker.invoke(kind, name, payload);
  }

  /** Starts an execution; resolves to its id. */
  async start(request: RemoteStartRequest): Promise<string> {
    const out = await this.call('start', request);
    if (typeof out.executionId !== 'string')
      throw new RemoteError(`the start function answered without an executionId: ${JSON.stringify(out).slice(0, 200)}`);
    return out.executionId;
  }

  /** Sends signals to an execution (once per `signalId`, when given); resolves to the broadcast id. */
  async signal(executionId: string, signals: string[], signalId?: string): Promise<string | undefined> {
    const out = await this.call('signal', { executionId, signals, ...(signalId !== undefined ? { signalId } : {}) });
    return typeof out.broadcastId === 'string' ? out.broadcastId : undefined;
  }

  /** Cancels an execution and its children (the signal function's `cancel`); resolves to how many were cancelled now. */
  async cancel(executionId: string): Promise<number> {
    const out = await this.call('signal', { action: 'cancel', executionId });
    return typeof out.cancelled === 'number' ? out.cancelled : 0;
  }

  /** Redrives a FAILED execution (the signal function's `redrive`); resolves to the broadcasts re-sent. */
  async redrive(executionId: string, redriveId: string): Promise<RemoteRedriven[]> {
    const out = await this.call('signal', { action: 'redrive', executionId, redriveId });
    return Array.isArray(out.redriven) ? (out.redriven as RemoteRedriven[]) : [];
  }

  /** One status answer (a single page: see {@link statusAll} for everything asked for). */
  async status(
    executionId: string,
    opts: StatusReadOptions & { contextCursor?: string; eventsCursor?: string } = {},
  ): Promise<RemoteStatus> {
    const out = await this.call('status', { executionId, ...opts });
    if (typeof out.status !== 'string')
      throw new RemoteError(`the status function answered without a status: ${JSON.stringify(out).slice(0, 200)}`);
    return out as unknown as RemoteStatus;
  }

  /**
   * The execution's status with everything asked for: follows the answer's `contextCursor` and
   * `eventsCursor` (a status answer is capped at 5 MiB) and joins the pages into one status.
   */
  async statusAll(executionId: string, opts: StatusReadOptions = {}): Promise<RemoteStatus> {
    const first = await this.status(executionId, opts);
    const out: RemoteStatus = { ...first, context: undefined, contextRanges: undefined, events: undefined, truncated: undefined };
    mergeStatusPage(out, first);
    if (first.truncated?.signalsTotal !== undefined) (out.truncated ??= { message: '' }).signalsTotal = first.truncated.signalsTotal;
    let page = first;
    while (page.contextCursor || page.eventsCursor) {
      page = await this.status(executionId, {
        ...(page.contextCursor ? { contextCursor: page.contextCursor } : {}),
        ...(page.eventsCursor ? { events: true, eventsCursor: page.eventsCursor } : {}),
      });
      mergeStatusPage(out, page);
    }
    delete out.contextCursor;
    delete out.eventsCursor;
    if (out.truncated) {
      const parts = [];
      if (out.truncated.omitted?.length) parts.push(`${out.truncated.omitted.length} value(s) too large for a status answer were left out`);
      if (out.truncated.signalsTotal !== undefined)
        parts.push(`__operational__.signals shows the newest of ${out.truncated.signalsTotal} signals`);
      out.truncated.message = parts.join('; ');
    }
    for (const key of ['context', 'contextRanges', 'events', 'truncated'] as const) if (out[key] === undefined) delete out[key];
    return out;
  }

  /** Polls the status until the execution is IDLE, FAILED or NOT_FOUND, or the time is up. */
  async waitFor(
    executionId: string,
    opts: {
      timeoutMs: number;
      intervalMs: number;
      includeContext?: boolean;
      history?: boolean | string[];
      onPoll?: (s: RemoteStatus) => void;
    },
  ): Promise<WaitResult> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const s = await this.status(executionId);
      opts.onPoll?.(s);
      const done = s.status !== 'RUNNING';
      if (done || Date.now() >= deadline) {
        const wanted = opts.includeContext || opts.history;
        const final =
          wanted && s.status !== 'NOT_FOUND'
            ? await this.statusAll(executionId, { includeContext: opts.includeContext, ...(opts.history ? { history: opts.history } : {}) })
            : s;
        return { status: final, timedOut: !done };
      }
      await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs, Math.max(0, deadline - Date.now()))));
    }
  }
}
