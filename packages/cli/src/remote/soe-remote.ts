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
  status: 'RUNNING' | 'IDLE' | 'FAILED' | 'NOT_FOUND';
  inFlight: number;
  error?: string;
  failedNode?: string;
  failedExecutionId?: string;
  context?: StoredContext;
  events?: TelemetryEvent[];
  /** Model calls and tokens of the execution. */
  usage?: { calls: number; input_tokens: number; output_tokens: number; latency_ms: number };
}

/** How {@link SoeRemote.waitFor} ended. */
export interface WaitResult {
  status: RemoteStatus;
  timedOut: boolean;
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

  /** Sends signals to an execution; resolves to the broadcast id. */
  async signal(executionId: string, signals: string[]): Promise<string | undefined> {
    const out = await this.call('signal', { executionId, signals });
    return typeof out.broadcastId === 'string' ? out.broadcastId : undefined;
  }

  /** The execution's status (with its context and events when asked). */
  async status(executionId: string, opts: { includeContext?: boolean; events?: boolean } = {}): Promise<RemoteStatus> {
    const out = await this.call('status', { executionId, ...opts });
    if (typeof out.status !== 'string')
      throw new RemoteError(`the status function answered without a status: ${JSON.stringify(out).slice(0, 200)}`);
    return out as unknown as RemoteStatus;
  }

  /** Polls the status until the execution is IDLE, FAILED or NOT_FOUND, or the time is up. */
  async waitFor(
    executionId: string,
    opts: { timeoutMs: number; intervalMs: number; includeContext?: boolean; onPoll?: (s: RemoteStatus) => void },
  ): Promise<WaitResult> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const s = await this.status(executionId);
      opts.onPoll?.(s);
      const done = s.status !== 'RUNNING';
      if (done || Date.now() >= deadline) {
        const final = opts.includeContext && s.status !== 'NOT_FOUND' ? await this.status(executionId, { includeContext: true }) : s;
        return { status: final, timedOut: !done };
      }
      await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs, Math.max(0, deadline - Date.now()))));
    }
  }
}
