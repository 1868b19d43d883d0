/**
 * Checks on signals sent from outside an execution (an external event, a human approval): every
 * runtime refuses the same requests with the same words, before anything is stored.
 */
import { type ErrorKind, markErrorClass, SoeError } from './errors.js';
import type { Workflow } from './types.js';

/** Why a signal request was refused. */
export type SignalRefusal = 'failed' | 'cancelled' | 'not-listened' | 'not-failed';

/** A signal, cancel or redrive request the execution's state does not allow. Nothing was stored. */
export class SignalRefusedError extends SoeError {
  override readonly code: string;
  override readonly kind: ErrorKind = 'invalid_input';
  constructor(
    message: string,
    readonly reason: SignalRefusal,
  ) {
    super(message);
    this.name = 'SignalRefusedError';
    this.code = `SOE_SIGNAL_REFUSED_${reason.toUpperCase().replace('-', '_')}`;
  }
}
markErrorClass(SignalRefusedError, 'SignalRefusedError');

/** Every signal some node of the workflow listens to (its `event_triggers`), in node order. */
export function listenedSignals(workflow: Workflow): string[] {
  const out = new Set<string>();
  for (const node of Object.values(workflow)) for (const s of node?.event_triggers ?? []) out.add(s);
  return [...out];
}

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length]!;
}

/** The known name nearest to `name`, when it is a near miss (a typo, another case); otherwise undefined. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Refuses signals that no node of the execution's current workflow listens to: sending them would
 * change nothing but the signal history, and is almost always a typo. The error names the signals
 * that are listened to, and the nearest one for a near miss.
 */
export function checkSignalsListened(executionId: string, workflowName: string, workflow: Workflow, signals: readonly string[]): void {
  const listened = listenedSignals(workflow);
  const unheard = signals.filter((s) => !listened.includes(s));
  if (!unheard.length) return;
  const hints = unheard.map((s) => {
    const near = nearestName(s, listened);
    return near ? `'${s}' (did you mean '${near}'?)` : `'${s}'`;
  });
  const known = listened.length ? listened.map((s) => `'${s}'`).join(', ') : 'none';
  throw new SignalRefusedError(
    `execution '${executionId}': no node of workflow '${workflowName}' listens to ${hints.join(', ')}; signals listened to: ${known}`,
    'not-listened',
  );
}

/** The refusal of a signal to an execution that ended FAILED or was cancelled. */
export function endedExecutionError(executionId: string, status: 'FAILED' | 'CANCELLED', error?: string): SignalRefusedError {
  return status === 'CANCELLED'
    ? new SignalRefusedError(`execution '${executionId}' was cancelled: it accepts no more signals`, 'cancelled')
    : new SignalRefusedError(
        `execution '${executionId}' is FAILED${error ? ` (${error})` : ''}: it accepts no more signals; fix the cause and redrive it (soe redrive ${executionId})`,
        'failed',
      );
}
