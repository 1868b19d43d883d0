import { type StoredContext, summarizeUsage, type TelemetryEvent, type UsageSummary } from '@soe/core';
import { RequestValidationError } from './errors.js';
import { type ExecutionStatusValue, getExecutionStatus } from './execution-status.js';
import { type HandlerError, isClientError, toHandlerError } from './handler-error.js';
import { createRuntimeServices, type RuntimeDeps } from './runtime-services.js';

/** The status request. */
export interface StatusRequest {
  executionId: string;
  /** Also return the stored context. */
  includeContext?: boolean;
  /** Also return the telemetry events. */
  events?: boolean;
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
      events?: TelemetryEvent[];
      /** Model calls, tokens and latency of the execution, from its llm_call events (once settled, or with `events`). */
      usage?: UsageSummary;
    }
  | HandlerError;

/**
 * Creates the status handler: RUNNING while broadcasts of the execution or its children are in flight,
 * IDLE when none are, FAILED with the error (and the node) when one failed — derived from records, so
 * a client can poll it to wait for the end of a run. Optionally returns the context and the events.
 * @example
 * const status = createStatusHandler({ dynamo, sqs, tableName, queueUrl });
 * const { status: s, context } = await status({ executionId, includeContext: true });
 */
export function createStatusHandler(deps: RuntimeDeps): (event: StatusRequest) => Promise<StatusResponse> {
  const services = createRuntimeServices(deps, 'soe-status');
  return async (event) => {
    try {
      if (typeof event !== 'object' || event === null) throw new RequestValidationError('the status request must be an object');
      const executionId =
        (event as unknown as Record<string, unknown>).executionId ?? (event as unknown as Record<string, unknown>).execution_id;
      if (typeof executionId !== 'string' || executionId === '')
        throw new RequestValidationError(`'executionId' must be an execution id, got ${JSON.stringify(executionId)}`);
      const s = await getExecutionStatus(services.backends.table, executionId);
      const out: StatusResponse = { executionId, status: s.status, inFlight: s.inFlight };
      if (s.error) out.error = s.error;
      if (s.failedNode) out.failedNode = s.failedNode;
      if (s.failedExecutionId) out.failedExecutionId = s.failedExecutionId;
      if (s.status !== 'NOT_FOUND') {
        if (event.includeContext) out.context = await services.backends.context.getContext(executionId);
        // Clients poll while RUNNING: read the telemetry only when asked for it or once the run has settled.
        if (event.events || s.status !== 'RUNNING') {
          const events = await services.backends.telemetry.getEvents(executionId);
          out.usage = summarizeUsage(events);
          if (event.events) out.events = events;
        }
      }
      return out;
    } catch (e) {
      if (!isClientError(e)) throw e;
      return toHandlerError(e);
    }
  };
}
