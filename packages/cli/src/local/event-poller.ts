/** Polls a telemetry backend for new events (the local AWS runtime's workers log out of this process's sight). */
import type { TelemetryBackend, TelemetryEvent } from '@soe/core';
import type { TelemetryListener } from './tracing-telemetry.js';

const POLL_MS = 100;

/**
 * Follows the telemetry of an execution and its children by polling (the local AWS runtime writes
 * events from its workers, out of this process's sight) and hands each new event to a listener,
 * oldest first. {@link EventPoller.stop} reads one last time, so nothing logged before it is missed.
 */
export class EventPoller {
  private readonly seen = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly telemetry: TelemetryBackend,
    private readonly listener: TelemetryListener,
  ) {}

  /** Starts following an execution (its children are followed as they start). */
  follow(executionId: string): void {
    if (!this.seen.has(executionId)) this.seen.set(executionId, new Set());
    if (!this.timer) this.timer = setInterval(() => this.tick(), POLL_MS);
  }

  /** Stops polling after a final read. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.poll();
  }

  private tick(): void {
    this.running = this.running.then(() => this.poll()).catch(() => undefined);
  }

  private async poll(): Promise<void> {
    if (!this.telemetry.getEvents) return;
    const fresh: Array<{ id: string; event: TelemetryEvent }> = [];
    const read = new Set<string>();
    // Children found in this read are read in the same poll, so their first events are not late.
    for (let pending = [...this.seen.keys()]; pending.length; pending = [...this.seen.keys()].filter((k) => !read.has(k))) {
      for (const id of pending) {
        read.add(id);
        const seen = this.seen.get(id)!;
        const events = await this.telemetry.getEvents(id).catch(() => [] as TelemetryEvent[]);
        for (const event of events) {
          const key = JSON.stringify(event);
          if (seen.has(key)) continue;
          seen.add(key);
          fresh.push({ id, event });
          if (event.event_type === 'child_started' && Array.isArray(event.children)) {
            for (const c of event.children) if (typeof c === 'string' && !this.seen.has(c)) this.seen.set(c, new Set());
          }
        }
      }
    }
    fresh.sort((a, b) => Date.parse(a.event.timestamp) - Date.parse(b.event.timestamp));
    for (const { id, event } of fresh) {
      try {
        this.listener(id, event);
      } catch {
        // A failing trace must never fail the run.
      }
    }
  }
}
