/** The lines `soe trace` and `soe run --trace` print (output/trace-formatter.ts). */
import { describe, expect, it } from 'vitest';
import { styleFor } from '../src/output/style.js';
import { TraceFormatter } from '../src/output/trace-formatter.js';

describe('TraceFormatter', () => {
  const plain = styleFor(process.stderr, false);

  it('formats node completions with duration, signals and calls, and indents children', () => {
    const t = new TraceFormatter({ style: plain }, 'main');
    const ts = '2025-01-01T00:00:00.000Z';
    expect(
      t.format('main', {
        event_type: 'node_completed',
        timestamp: ts,
        node_name: 'A',
        node_type: 'llm',
        duration_ms: 12,
        emitted: ['X'],
        llm_calls: 2,
        tool_calls: 1,
        ok: true,
      }),
    ).toEqual(['✓ A (llm) 12 ms → X · 2 llm calls · 1 tool call']);
    expect(t.format('main', { event_type: 'child_started', timestamp: ts, node_name: 'S', children: ['c1234567890'] })).toEqual([
      '⇉ S started 1 child: c1234567',
    ]);
    expect(t.format('c1234567890', { event_type: 'signals_broadcast', timestamp: ts, signals: ['GO'] })).toEqual(['  [c1234567] ⇢ GO']);
    expect(t.format('main', { event_type: 'node_execution', timestamp: ts, node_name: 'A' })).toEqual([]);
  });

  it('shows a condition that raised as a warning naming the signal, the node and the error', () => {
    const t = new TraceFormatter({ style: plain }, 'main');
    const event = {
      event_type: 'condition_error',
      timestamp: '2025-01-01T00:00:00.000Z',
      node_name: 'Route',
      signal_name: 'BROKEN',
      condition: '{{ 1 / 0 > 0 }}',
      error: 'division by zero',
    };
    expect(t.format('main', event)).toEqual(['  ! condition of BROKEN in Route raised, counted as false: division by zero']);
  });

  it('prefixes offsets from the first event in timeline mode', () => {
    const t = new TraceFormatter({ style: plain, timeline: true }, 'm');
    expect(t.format('m', { event_type: 'signals_broadcast', timestamp: '2025-01-01T00:00:00.000Z', signals: ['A'] })[0]).toBe(
      '     +0ms  ⇢ A',
    );
    expect(t.format('m', { event_type: 'signals_broadcast', timestamp: '2025-01-01T00:00:01.250Z', signals: ['B'] })[0]).toBe(
      '  +1250ms  ⇢ B',
    );
  });
});
