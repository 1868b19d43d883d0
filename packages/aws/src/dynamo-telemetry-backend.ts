/** Telemetry events in DynamoDB (`T#<executionId>`, with a TTL), and the buffer the worker writes them through. */
import { randomUUID } from 'node:crypto';
import type { TelemetryBackend, TelemetryEvent } from '@soe/core';
import { DEFAULT_TELEMETRY_TTL_DAYS, TABLE_TTL_ATTRIBUTE as TTL_ATTRIBUTE } from './env-contract.js';
import { readLogAfter } from './execution-log.js';
import { type CommitPayload, LOG_KIND } from './record-types.js';
import type { SoeTable } from './soe-table.js';
import { executionPk, nowMicros, telemetryPk } from './table-keys.js';

/** How long telemetry is kept by default (DynamoDB's TTL deletes it afterwards, free of charge), and the TTL attribute. */
export { DEFAULT_TELEMETRY_TTL_DAYS, TABLE_TTL_ATTRIBUTE as TTL_ATTRIBUTE } from './env-contract.js';

/** Events per stored item: keeps an item far below 400 KB even with verbose events. */
const EVENTS_PER_ITEM = 200;

/** Options of {@link DynamoTelemetryBackend}. */
export interface DynamoTelemetryOptions {
  /** Days until DynamoDB deletes an event. @default 30 */
  ttlDays?: number;
}

/**
 * Telemetry events in DynamoDB. The events a node run logs ride in the run's commit record (field `t`
 * of its payload, which the context fold ignores): no second write per node run, and a worker never
 * reads them back (it reads only records written by others since its last message). Events logged
 * outside node runs go to their own partition per execution (`T#<id>`, with the `ttl` attribute),
 * written one by one ({@link logEvent}) or collected and written as one item per message ({@link buffer}).
 * {@link getEvents} merges both, in time order.
 */
export class DynamoTelemetryBackend implements TelemetryBackend {
  private readonly ttlSeconds: number;
  constructor(
    private readonly table: SoeTable,
    opts: DynamoTelemetryOptions = {},
  ) {
    this.ttlSeconds = Math.round((opts.ttlDays ?? DEFAULT_TELEMETRY_TTL_DAYS) * 86_400);
  }

  async logEvent(executionId: string, eventType: string, data: Record<string, unknown> = {}): Promise<void> {
    await this.write(executionId, [{ ...data, event_type: eventType, timestamp: new Date().toISOString() }]);
  }

  /** Writes events of one execution as items of up to {@link EVENTS_PER_ITEM} events. */
  async write(executionId: string, events: TelemetryEvent[]): Promise<void> {
    const ttl = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const items = [];
    for (let i = 0; i < events.length; i += EVENTS_PER_ITEM) {
      items.push({
        pk: telemetryPk(executionId),
        // Time first, so a Query returns the events oldest first; a random tail keeps two writers apart.
        sk: `${String(nowMicros()).padStart(17, '0')}#${randomUUID().slice(0, 8)}`,
        ev: JSON.stringify(events.slice(i, i + EVENTS_PER_ITEM)),
        [TTL_ATTRIBUTE]: ttl,
      });
    }
    if (items.length === 1) await this.table.put(items[0]!);
    else if (items.length) await this.table.batchWrite(items);
  }

  async getEvents(executionId: string): Promise<TelemetryEvent[]> {
    const [items, log] = await Promise.all([
      this.table.queryPartition(telemetryPk(executionId)),
      readLogAfter(this.table, executionPk(executionId), 0),
    ]);
    const events = [
      ...log.flatMap(({ item, payload }) => (item.k === LOG_KIND.run ? ((payload as CommitPayload).t ?? []) : [])),
      ...items.flatMap((i) => JSON.parse(String(i.ev ?? '[]')) as TelemetryEvent[]),
    ];
    // Items written by concurrent workers interleave; order events by their own timestamps (stable).
    return events
      .map((e, i) => [e, i] as const)
      .sort((a, b) => (a[0].timestamp < b[0].timestamp ? -1 : a[0].timestamp > b[0].timestamp ? 1 : a[1] - b[1]))
      .map(([e]) => e);
  }

  /** A telemetry backend that collects events until {@link BufferedTelemetry.flush}. */
  buffer(): BufferedTelemetry {
    return new BufferedTelemetry(this);
  }
}

/** Collects events in memory and writes them as one item per execution on {@link flush}. */
export class BufferedTelemetry implements TelemetryBackend {
  private pending = new Map<string, TelemetryEvent[]>();
  constructor(private readonly target: DynamoTelemetryBackend) {}

  async logEvent(executionId: string, eventType: string, data: Record<string, unknown> = {}): Promise<void> {
    let list = this.pending.get(executionId);
    if (!list) this.pending.set(executionId, (list = []));
    list.push({ ...data, event_type: eventType, timestamp: new Date().toISOString() });
  }

  /** Takes the events of an execution collected so far (they go into a commit record instead). */
  take(executionId: string): TelemetryEvent[] {
    const events = this.pending.get(executionId) ?? [];
    this.pending.delete(executionId);
    return events;
  }

  /** Stored events plus the ones not flushed yet. */
  async getEvents(executionId: string): Promise<TelemetryEvent[]> {
    return [...(await this.target.getEvents(executionId)), ...(this.pending.get(executionId) ?? [])];
  }

  /** Writes what was collected. */
  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = new Map();
    await Promise.all([...pending].map(([id, events]) => this.target.write(id, events)));
  }
}
