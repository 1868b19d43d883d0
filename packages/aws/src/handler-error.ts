/** How the start, signal and status handlers answer a request they refuse, instead of throwing. */
import { isInvalidInput } from '@soe/core';

/** The error object the start, signal and status handlers return instead of throwing. */
export interface HandlerError {
  error: {
    /** The error class name (`WorkflowValidationError`, `UnknownExecutionError`, …). */
    type: string;
    message: string;
    /** Stable code, when the error has one. */
    code?: string;
    /** Every problem found in a rejected config: workflow, node, field and message. */
    issues?: ReadonlyArray<Record<string, unknown>>;
  };
}

/** Turns an error into the handlers' error object (the caller's input was at fault, nothing was stored). */
export function toHandlerError(e: unknown): HandlerError {
  const err = e as { name?: unknown; message?: unknown; code?: unknown; issues?: unknown };
  const out: HandlerError = {
    error: {
      type: typeof err?.name === 'string' ? err.name : 'Error',
      message: typeof err?.message === 'string' ? err.message : String(e),
    },
  };
  if (typeof err?.code === 'string') out.error.code = err.code;
  if (Array.isArray(err?.issues)) out.error.issues = err.issues.map((i) => ({ ...(i as Record<string, unknown>) }));
  return out;
}

/**
 * True for errors caused by the request (kind `invalid_input`: bad config, unknown ids, refused
 * signals, limits): answered, not thrown. A `TypeError` is answered too: the signal sender refuses
 * signals that are not a list of names with one (`createSignalSender`, a public API that keeps it).
 */
export function isClientError(e: unknown): boolean {
  return isInvalidInput(e) || e instanceof TypeError;
}
