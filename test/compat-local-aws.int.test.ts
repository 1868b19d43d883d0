/**
 * The upstream-compatible behaviours of issue 14 through the local AWS runtime (the real worker on
 * dynalite and fauxqs): a refusing built-in fails its tool node and routes to its failure signal, a
 * condition that raises counts as false and is recorded, and soe_copy_context creates its target.
 * Needs the built packages (npm test builds first).
 */
import { createLocalRuntime } from '@soe/aws';
import { createBuiltinTools, orchestrate } from '@soe/core';
import { describe, expect, it } from 'vitest';

describe('issue 14 behaviours on the local AWS runtime', () => {
  it('refusal → failure signal, raising condition → false, copy → a new execution of the run', async () => {
    const builtins = createBuiltinTools();
    const runtime = await createLocalRuntime({
      toolsRegistry: { soe_remove_node: { ...builtins.soe_remove_node!, failureSignal: 'REFUSED' } },
    });
    try {
      const config = {
        main: {
          Copy: {
            node_type: 'tool',
            event_triggers: ['START'],
            tool_name: 'soe_copy_context',
            parameters: { all_fields: true, target_execution_id: `snap-${process.pid}-${Date.now()}` },
            output_field: 'copy',
            event_emissions: [{ signal_name: 'COPIED' }],
          },
          Remove: {
            node_type: 'tool',
            event_triggers: ['COPIED'],
            tool_name: 'soe_remove_node',
            parameters: { workflow_name: 'main', node_name: 'Nope' },
            output_field: 'removal',
            event_emissions: [{ signal_name: 'REMOVED' }],
          },
          Route: {
            node_type: 'router',
            event_triggers: ['REFUSED'],
            event_emissions: [{ signal_name: 'BROKEN', condition: '{{ 1 / 0 > 0 }}' }, { signal_name: 'FALLBACK' }],
          },
        },
      };
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { topic: 'tides' },
        backends: runtime.backends,
        broadcastSignalsCaller: runtime.broadcastSignalsCaller,
      });
      expect(await runtime.waitForIdle(id)).toMatchObject({ status: 'idle' });
      const ctx = await runtime.backends.context.getContext(id);
      expect(ctx.__operational__!.signals).toEqual(['START', 'COPIED', 'REFUSED', 'FALLBACK']);
      expect(ctx.__operational__!.errors).toBe(1);
      expect(ctx.removal).toEqual([expect.stringMatching(/^node 'Nope' not found in workflow 'main'/)]);

      const copied = ctx.copy![0] as { target_execution: string; created: boolean };
      expect(copied.created).toBe(true);
      // On AWS an append to another execution travels as a message to it (exactly once, after the
      // copying node's commit): the copy shows in the target once that message is handled.
      let target = await runtime.backends.context.getContext(copied.target_execution);
      for (let i = 0; i < 200 && !target.topic; i++) {
        await new Promise((r) => setTimeout(r, 25));
        target = await runtime.backends.context.getContext(copied.target_execution);
      }
      expect(target.topic).toEqual(['tides']);
      expect(target.__operational__!.main_execution_id).toBe(id);

      const events = await runtime.backends.telemetry!.getEvents(id);
      expect(events.filter((e) => e.event_type === 'condition_error')).toEqual([
        expect.objectContaining({ node_name: 'Route', signal_name: 'BROKEN', error: 'division by zero' }),
      ]);
    } finally {
      await runtime.close();
    }
  });
});
