import { RequestValidationError } from './errors.js';
import { type HandlerError, isClientError, toHandlerError } from './handler-error.js';
import { createRuntimeServices, type RuntimeDeps } from './runtime-services.js';
import { createSignalSender } from './signal-sender.js';

/** The signal request: signals for a running execution (an external event, a human approval). */
export interface SignalRequest {
  executionId: string;
  signals: string[];
}

/** The signal handler's answer: the id of the broadcast that carries the signals. */
export type SignalResponse = { executionId: string; broadcastId: string } | HandlerError;

/**
 * Creates the signal handler: sends signals to an existing execution through the worker queue. An
 * unknown execution or a malformed request is answered with an error object and sends nothing.
 * @example
 * const signal = createSignalHandler({ dynamo, sqs, tableName, queueUrl });
 * await signal({ executionId, signals: ['APPROVED'] });
 */
export function createSignalHandler(deps: RuntimeDeps): (event: SignalRequest) => Promise<SignalResponse> {
  const services = createRuntimeServices(deps, 'soe-signal');
  const send = createSignalSender(services);
  return async (event) => {
    try {
      if (typeof event !== 'object' || event === null) throw new RequestValidationError('the signal request must be an object');
      const executionId =
        (event as unknown as Record<string, unknown>).executionId ?? (event as unknown as Record<string, unknown>).execution_id;
      if (typeof executionId !== 'string' || executionId === '')
        throw new RequestValidationError(`'executionId' must be an execution id, got ${JSON.stringify(executionId)}`);
      const signals = event.signals;
      if (!Array.isArray(signals) || signals.length === 0 || !signals.every((s) => typeof s === 'string' && s !== '')) {
        throw new RequestValidationError(`'signals' must be a non-empty list of signal names, got ${JSON.stringify(signals)}`);
      }
      const broadcastId = await send.sendWithId(executionId, signals);
      services.logger.info('signals sent', { executionId, signals, broadcastId });
      return { executionId, broadcastId };
    } catch (e) {
      if (!isClientError(e)) throw e;
      services.logger.warn('signal request rejected', { error: (e as Error).message });
      return toHandlerError(e);
    }
  };
}
