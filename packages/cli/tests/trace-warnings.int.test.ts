import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, parseJsonOut, requireBuiltCli, runCli } from './helpers.js';

beforeAll(requireBuiltCli);

describe('a condition that raises', () => {
  it('soe run goes on with the other emissions and warns in the trace', async () => {
    const r = await runCli(['run', `${FIXTURES}/condition-error.yaml`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('! condition of BROKEN in Route raised, counted as false: division by zero');
    expect(r.stderr).toMatch(/Route \(router\).*→ FALLBACK/);
  });

  it('soe run --json lists the condition_error event', async () => {
    const r = await runCli(['run', `${FIXTURES}/condition-error.yaml`, '--json']);
    const out = parseJsonOut<{ signals: string[]; events: Array<Record<string, unknown>> }>(r);
    expect(out.signals).toEqual(['START', 'FALLBACK']);
    expect(out.events.filter((e) => e.event_type === 'condition_error')).toEqual([
      expect.objectContaining({ node_name: 'Route', signal_name: 'BROKEN', error: expect.stringMatching(/division by zero/) }),
    ]);
  });
});
