/**
 * Status from status facts and the run-level list of executions: a poll and a listing cost a Query of
 * the main execution's `S#` range, whatever the contexts hold and however many children the run has.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { orchestrate } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { DynamoContextBackend } from '../src/dynamo-context-backend.js';
import { createLocalRuntime, createRequestCounter, getExecutionStatus, SoeTable } from '../src/index.js';

const CHILDREN = 50;
const CONFIG = `
workflows:
  main:
    Fan:
      node_type: child
      event_triggers: [START]
      child_workflow_name: item
      child_initial_signals: [GO]
      fan_out_field: items
      child_input_field: item
      signals_to_parent: [ITEM_DONE]
      context_updates_to_parent: [doubled]
    Gather:
      node_type: router
      event_triggers: [ITEM_DONE]
      event_emissions:
        - signal_name: ALL_DONE
          condition: "{{ context.doubled | accumulated | length == ${CHILDREN} }}"
    List:
      node_type: tool
      event_triggers: [ALL_DONE]
      tool_name: soe_list_contexts
      parameters: { limit: 200 }
      output_field: listed
  item:
    Double:
      node_type: tool
      event_triggers: [GO]
      tool_name: double
      context_parameter_field: item
      output_field: doubled
      event_emissions: [{ signal_name: ITEM_DONE }]
`;

describe('status facts', () => {
  it(`polls a run of ${CHILDREN} children and a 512 KB context with one small Query, and lists the run without a scan`, async () => {
    const rt = await createLocalRuntime({ toolsRegistry: { double: ({ n }: { n: number }) => n * 2 } });
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: rt.emulators.dynamoEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const big = randomBytes(384 * 1024).toString('base64'); // 512 KB that no status poll should read
      const id = await orchestrate({
        config: CONFIG,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { big, items: Array.from({ length: CHILDREN }, (_, n) => ({ n })) },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id, 120_000)).toEqual({ status: 'idle' });

      const counter = createRequestCounter();
      counter.attach(client);
      const table = new SoeTable({ client, tableName: rt.emulators.tableName });
      const status = await getExecutionStatus(table, id);
      expect(status).toMatchObject({ status: 'IDLE', inFlight: 0, executions: CHILDREN + 1 });
      const poll = counter.counts().dynamodb;
      expect(poll.byOperation).toEqual({ Query: 1 });
      expect(poll.bytesRead).toBeLessThan(100_000); // every fact of 121 executions, none of the 512 KB

      // A child's status: its own (empty) fact range, its init record's key (to find the run), the run's facts.
      const ctx = await rt.backends.context.getContext(id);
      const listed = ctx.listed?.at(-1) as { contexts: Array<{ execution_id: string; is_main: boolean }> };
      const children = listed.contexts.filter((c) => !c.is_main).map((c) => c.execution_id);
      expect(children).toHaveLength(CHILDREN);
      counter.reset();
      expect(await getExecutionStatus(table, children[0]!)).toMatchObject({ status: 'IDLE', inFlight: 0, executions: 1 });
      expect(counter.counts().dynamodb.byOperation).toEqual({ Query: 3 });

      // The run's executions: one Query of the main execution's partition, never a Scan.
      counter.reset();
      const ids = await new DynamoContextBackend(table).listContexts(id);
      expect(new Set(ids)).toEqual(new Set([id, ...children]));
      expect(counter.counts().dynamodb.byOperation).toEqual({ Query: 1 });

      expect(await getExecutionStatus(table, 'no-such-execution')).toMatchObject({ status: 'NOT_FOUND' });
    } finally {
      client.destroy();
      await rt.close();
    }
  }, 180_000);
});
