/** A node run's commit record, built from its outcome without I/O: what a redelivery re-sends and what the fold reads. */
import type { NodeOutcome, Workflow } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { buildCommit, type CommitInput } from '../src/commit-builder.js';
import { ValueTooLargeError } from '../src/index.js';
import { LOG_KIND } from '../src/record-types.js';
import { derivedId } from '../src/table-keys.js';

const WORKFLOW: Workflow = {
  Draft: { node_type: 'tool', event_triggers: ['START'], tool_name: 'draft' },
  Review: { node_type: 'tool', event_triggers: ['DRAFTED'], tool_name: 'review' },
} as unknown as Workflow;

const outcome = (over: Partial<NodeOutcome> = {}): NodeOutcome => ({
  update: { nodes: { Draft: 1 }, fields: { draft: ['text'] }, counters: { tool_calls: 1 } },
  emit: [],
  extraEmit: [],
  foreignUpdates: [],
  outbox: [],
  spawns: [],
  ...over,
});

const input = (over: Partial<CommitInput> = {}): CommitInput => ({
  executionId: 'e1',
  broadcastId: 'b1',
  nodeName: 'Draft',
  runKey: 'b1#Draft',
  outcome: outcome(),
  workflow: WORKFLOW,
  isLast: false,
  maxValueBytes: 1024,
  ...over,
});

describe('buildCommit', () => {
  it('records the run: its key, node, broadcast and appends', () => {
    const { attributes, payload, error } = buildCommit(input());
    expect(error).toBeUndefined();
    expect(attributes).toEqual({ k: LOG_KIND.run, b: 'b1', n: 'Draft', rk: 'b1#Draft' });
    expect(payload).toEqual({ u: { nodes: { Draft: 1 }, fields: { draft: ['text'] }, counters: { tool_calls: 1 } } });
  });

  it('emitted signals go into the context and the outbox, under an id derived from the run key', () => {
    const a = buildCommit(input({ outcome: outcome({ emit: ['DRAFTED'] }) }));
    const b = buildCommit(input({ outcome: outcome({ emit: ['DRAFTED'] }) }));
    expect(a.payload.u.signals).toEqual(['DRAFTED']);
    expect(a.payload.o).toEqual([{ i: derivedId('b1#Draft', 'emit'), t: 'e1', s: ['DRAFTED'] }]);
    // A redelivery builds the very same ids: SQS and the fold drop the duplicate.
    expect(b.payload.o).toEqual(a.payload.o);
    expect(buildCommit(input({ runKey: 'b2#Draft', outcome: outcome({ emit: ['DRAFTED'] }) })).payload.o?.[0]?.i).not.toBe(
      a.payload.o?.[0]?.i,
    );
    // Something listens to DRAFTED: the emitted broadcast is not handled yet.
    expect(a.attributes.h).toBeUndefined();
  });

  it('an emitted signal nothing listens to is marked handled in the same record', () => {
    const { attributes, payload } = buildCommit(input({ outcome: outcome({ emit: ['NOBODY'] }) }));
    expect(attributes.h).toEqual([payload.o![0]!.i]);
  });

  it("the broadcast's last run marks the broadcast handled", () => {
    expect(buildCommit(input({ isLast: true })).attributes.h).toEqual(['b1']);
  });

  it('signals to other executions and children get their own derived ids; children carry what re-creates them', () => {
    const parent = { execution_id: 'e1', node: 'Draft', workflow: 'main' } as never;
    const { payload } = buildCommit(
      input({
        outcome: outcome({
          outbox: [{ executionId: 'p0', signals: ['CHILD_DONE'] }],
          spawns: [
            {
              executionId: 'c1',
              workflowName: 'child',
              sourceExecutionId: 'e1',
              fields: { item: ['x'] },
              mainExecutionId: 'e1',
              parent,
              signals: ['START'],
              delaySeconds: 2,
            },
          ],
        }),
      }),
    );
    const childId = derivedId('b1#Draft', 'child', 0);
    expect(payload.o).toEqual([
      { i: derivedId('b1#Draft', 'out', 0), t: 'p0', s: ['CHILD_DONE'] },
      { i: childId, t: 'c1', s: ['START'], d: 2 },
    ]);
    expect(payload.c).toEqual([{ id: 'c1', wf: 'child', src: 'e1', f: { item: ['x'] }, m: 'e1', p: parent, b: childId, s: ['START'] }]);
  });

  it('appends to another execution travel with a broadcast to it, or with a signal-less one', () => {
    const withSignal = buildCommit(
      input({
        outcome: outcome({
          outbox: [{ executionId: 'p0', signals: ['CHILD_DONE'] }],
          foreignUpdates: [{ executionId: 'p0', update: { fields: { results: [1] } } }],
        }),
      }),
    ).payload;
    expect(withSignal.f).toEqual([{ t: 'p0', u: { fields: { results: [1] } }, w: withSignal.o![0]!.i }]);
    const alone = buildCommit(
      input({ outcome: outcome({ foreignUpdates: [{ executionId: 'g0', update: { fields: { n: [2] } } }] }) }),
    ).payload;
    const gate = derivedId('b1#Draft', 'append', 'g0');
    expect(alone.o).toEqual([{ i: gate, t: 'g0', s: [] }]);
    expect(alone.f).toEqual([{ t: 'g0', u: { fields: { n: [2] } }, w: gate }]);
  });

  it('a failed run records its error and order, marks its broadcast handled and sends nothing', () => {
    const { attributes, payload, error } = buildCommit(
      input({ outcome: outcome({ emit: ['DRAFTED'], error: new Error('tool exploded') }) }),
    );
    expect(error?.message).toBe('tool exploded');
    expect(attributes.e).toBe('Error: tool exploded');
    expect(typeof attributes.ord).toBe('number');
    expect(attributes.h).toEqual(['b1']);
    expect(payload.o).toBeUndefined();
    expect(payload.u.signals).toBeUndefined();
  });

  it('a value too large to store fails the run naming the field, and keeps none of its appends', () => {
    const big = 'x'.repeat(2048);
    const { attributes, payload, error } = buildCommit(
      input({
        outcome: outcome({
          update: { nodes: { Draft: 1 }, fields: { draft: [big] }, counters: { tool_calls: 1 } },
          emit: ['DRAFTED'],
          foreignUpdates: [{ executionId: 'p0', update: { fields: { r: [1] } } }],
        }),
      }),
    );
    expect(error).toBeInstanceOf(ValueTooLargeError);
    expect(attributes.e).toMatch(
      /^ValueTooLargeError: execution 'e1', field 'draft': a single value of 2050 bytes is larger than the 1024-byte limit/,
    );
    expect(payload).toEqual({ u: { nodes: { Draft: 1 }, counters: { tool_calls: 1, errors: 1 } } });
  });

  it('telemetry events ride in the commit', () => {
    const events = [{ timestamp: 't', event_type: 'node_execution', node_name: 'Draft' }] as never;
    expect(buildCommit(input({ events })).payload.t).toEqual(events);
  });
});
