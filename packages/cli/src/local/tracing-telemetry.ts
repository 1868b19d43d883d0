/** A telemetry backend that also hands each event to a listener: the live trace of `soe run`. */
import type { TelemetryBackend, TelemetryEvent } from '@soe/core';

/** Called with every event as it is logged. */
export type TelemetryListener = (executionId: string, event: TelemetryEvent) => void;

/**
 * A telemetry backend that stores through another one and hands every event to a listener as it is
 * logged: the live trace of `soe run` on the in-process runtimes.
 */
export class TracingTelemetry implements TelemetryBackend {
  constructor(
    private readonly inner: TelemetryBackend,
    private readonly listener: TelemetryListener,
  ) {}

  async logEvent(executionId: string, eventType: string, data: Record<string, unknown> = {}): Promise<void> {
    await this.inner.logEvent(executionId, eventType, data);
    try {
      this.listener(executionId, { ...data, event_type: eventType, timestamp: new Date().toISOString() });
    } catch {
      // A failing trace must never fail the run.
    }
  }

  async getEvents(executionId: string): Promise<TelemetryEvent[]> {
    return (await this.inner.getEvents?.(executionId)) ?? [];
  }
}
