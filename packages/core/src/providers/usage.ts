/**
 * Token and latency totals of an execution, summed from its `llm_call` telemetry events (the engine
 * writes one per model call, with `latency_ms` and, when the provider reported them, `input_tokens` and
 * `output_tokens`).
 */
import type { TelemetryEvent } from '../types.js';

/** What an execution's model calls cost. */
export interface UsageSummary {
  /** Model calls made (each retry of an unusable answer is a call; a provider's internal retries are not). */
  calls: number;
  /** Calls that threw (after the provider's own retries). */
  failed_calls: number;
  /** Prompt tokens the providers reported (calls without usage add nothing). */
  input_tokens: number;
  /** Answer tokens the providers reported. */
  output_tokens: number;
  /** Time spent waiting for the model, summed over calls (calls may overlap: this is not wall time). */
  latency_ms: number;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Sums the `llm_call` events of one execution (or of several: pass them all). Other events are ignored.
 * @example
 * const usage = summarizeUsage(await backends.telemetry.getEvents(executionId));
 * console.error(`${usage.calls} model calls, ${usage.input_tokens} in / ${usage.output_tokens} out tokens`);
 */
export function summarizeUsage(events: Iterable<TelemetryEvent | Record<string, unknown>>): UsageSummary {
  const sum: UsageSummary = { calls: 0, failed_calls: 0, input_tokens: 0, output_tokens: 0, latency_ms: 0 };
  for (const e of events) {
    if (e.event_type !== 'llm_call') continue;
    sum.calls++;
    if (e.ok === false) sum.failed_calls++;
    sum.input_tokens += count(e.input_tokens);
    sum.output_tokens += count(e.output_tokens);
    sum.latency_ms += count(e.latency_ms);
  }
  return sum;
}
