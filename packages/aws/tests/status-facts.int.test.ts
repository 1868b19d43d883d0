/**
 * Status from status facts and the run-level list of executions: a poll and a listing cost a Query of
 * the main execution's `S#` range, whatever the contexts hold and however many children the run has.
 * Children reference one immutable registry version instead of getting a copy of the registry.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { orchestrate } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { DynamoContextBackend } from '../src/dynamo-context-backend.js';
import { DynamoWorkflowBackend } from '../src/dynamo-workflow-backend.js';
import { createLocalRuntime, createRequestCounter, executionPk, getExecutionStatus, SoeTable } from '../src/index.js';
import { registryVersionPk, SK } from '../src/table-keys.js';

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

describe('status facts, run-level list, shared registry versions', () => {
  it(`polls a run of ${CHILDREN} children and a 512 KB context with one small Query, and lists the run without a scan; children share one registry version`, async () => {
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

      // The registry is one immutable version that every child references, not a copy per child.
      const workflows = new DynamoWorkflowBackend(table);
      const refs = await Promise.all(children.map((c) => table.get(executionPk(c), SK.registryVersion)));
      const versions = new Set(refs.map((r) => r?.rv));
      expect(versions.size).toBe(1);
      const [version] = [...versions] as string[];
      for (const c of children.slice(0, 5)) expect(await table.queryPartition(executionPk(c), SK.workflow)).toEqual([]);
      const shared = await workflows.getWorkflowsRegistry(children[0]!);
      expect(Object.keys(shared ?? {}).sort()).toEqual(['item', 'main']);
      expect(shared).toEqual(await workflows.getWorkflowsRegistry(id));

      // A change to one child gives it records of its own; the version and the other children keep theirs.
      const extra = { node_type: 'router' as const, event_triggers: ['LATER'], event_emissions: [{ signal_name: 'NEVER' }] };
      await workflows.putNode(children[0]!, 'item', 'Extra', extra);
      expect((await workflows.getWorkflowsRegistry(children[0]!))?.item?.Extra).toEqual(extra);
      expect(Object.keys((await workflows.getWorkflowsRegistry(children[0]!)) ?? {}).sort()).toEqual(['item', 'main']);
      expect(await table.get(executionPk(children[0]!), SK.registryVersion)).toBeUndefined();
      expect((await workflows.getWorkflowsRegistry(children[1]!))?.item?.Extra).toBeUndefined();
      const stored = await table.queryPartition(registryVersionPk(version!), SK.workflow);
      expect(stored.map((i) => i.sk).sort()).toEqual(['W#item', 'W#main']);
    } finally {
      client.destroy();
      await rt.close();
    }
  }, 180_000);
});
