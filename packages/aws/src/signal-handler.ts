/** The signal function: sends signals to an execution from outside, and cancels or redrives it. */
import { RequestValidationError } from './errors.js';
import { type CancelResult, cancelExecution, checkSignalRequest, type RedriveResult, redriveExecution } from './execution-control.js';
import { type HandlerError, isClientError, toHandlerError } from './handler-error.js';
import { createRuntimeServices, type RuntimeDeps, type RuntimeServices } from './runtime-services.js';
import { checkMessageSize } from './signal-message.js';
import { createSignalSender } from './signal-sender.js';

/**
 * The signal function's request. `action` defaults to `signal`: signals for a running execution (an
 * external event, a human approval). `cancel` cancels the execution and its children; `redrive`
 * re-sends the failed broadcast(s) of a FAILED execution and clears FAILED.
 */
export interface SignalRequest {
  action?: 'signal' | 'cancel' | 'redrive';
  executionId: string;
  /** `signal`: the signal names. */
  signals?: string[];
  /** `signal`: makes a repeated send apply once (the broadcast id derives from it). */
  signalId?: string;
  /** `redrive`: makes a repeated redrive request apply once. */
  redriveId?: string;
}

/** The signal handler's answer: the broadcast that carries the signals, or what a cancel or redrive did. */
export type SignalResponse = { executionId: string; broadcastId: string } | CancelResult | RedriveResult | HandlerError;

const ACTIONS = ['signal', 'cancel', 'redrive'] as const;

/** Reads an optional non-empty string field of the request. */
function optionalId(request: Record<string, unknown>, field: string): string | undefined {
  const v = request[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > 200)
    throw new RequestValidationError(`'${field}' must be a non-empty string of at most 200 characters, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks and sends signals (see {@link checkSignalRequest}). */
async function handleSignal(
  services: RuntimeServices,
  send: ReturnType<typeof createSignalSender>,
  request: Record<string, unknown>,
  executionId: string,
): Promise<SignalResponse> {
  const signals = request.signals;
  if (!Array.isArray(signals) || signals.length === 0 || !signals.every((s) => typeof s === 'string' && s !== '')) {
    throw new RequestValidationError(`'signals' must be a non-empty list of signal names, got ${JSON.stringify(signals)}`);
  }
  const signalId = optionalId(request, 'signalId');
  // A request too large for one message is refused first: no execution state can make it fit.
  checkMessageSize({ i: '00000000-0000-0000-0000-000000000000', t: executionId, s: signals });
  await checkSignalRequest(services.backends.table, executionId, signals);
  const broadcastId = await send.sendWithId(executionId, signals, signalId !== undefined ? { signalId } : {});
  services.logger.info('signals sent', { executionId, signals, broadcastId, signalId });
  return { executionId, broadcastId };
}

/**
 * Creates the signal handler: sends checked signals to an existing execution through the worker
 * queue, cancels or redrives it. A request the execution's state does not allow (an unknown
 * execution, signals to a FAILED or CANCELLED one or that no node listens to, a redrive of one that is
 * not FAILED) or a malformed request is answered with an error object and changes nothing.
 * @example
 * const signal = createSignalHandler({ dynamo, sqs, tableName, queueUrl });
 * await signal({ executionId, signals: ['APPROVED'], signalId: 'ticket-42-approval' });
 * await signal({ action: 'cancel', executionId });
 */
export function createSignalHandler(deps: RuntimeDeps): (event: SignalRequest) => Promise<SignalResponse> {
  const services = createRuntimeServices(deps, 'soe-signal');
  const send = createSignalSender(services);
  return async (event) => {
    try {
      if (typeof event !== 'object' || event === null) throw new RequestValidationError('the signal request must be an object');
      const request = event as unknown as Record<string, unknown>;
      const executionId = request.executionId ?? request.execution_id;
      if (typeof executionId !== 'string' || executionId === '')
        throw new RequestValidationError(`'executionId' must be an execution id, got ${JSON.stringify(executionId)}`);
      const action = request.action ?? 'signal';
      if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
        throw new RequestValidationError(`'action' must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
      if (action === 'cancel') {
        const out = await cancelExecution(services, executionId);
        services.logger.info('execution cancelled', { ...out });
        return out;
      }
      if (action === 'redrive') {
        const out = await redriveExecution(services, executionId, optionalId(request, 'redriveId'));
        services.logger.info('execution redriven', { executionId, redriven: out.redriven });
        return out;
      }
      return await handleSignal(services, send, request, executionId);
    } catch (e) {
      if (!isClientError(e)) throw e;
      services.logger.warn('signal request rejected', { error: (e as Error).message });
      return toHandlerError(e);
    }
  };
}
