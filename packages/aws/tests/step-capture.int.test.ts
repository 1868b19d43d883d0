/** Step I/O capture on the local AWS runtime (real worker, DynamoDB and SQS emulators) and from the functions' environment. */
import { orchestrate, REDACTED, type ToolsRegistry } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { createLocalRuntime, readRuntimeEnv } from '../src/index.js';

const config = `main:
  Save:
    node_type: tool
    event_triggers: [START]
    tool_name: save
    context_parameter_field: record
    output_field: saved
    event_emissions:
      - signal_name: SAVED
`;

const tools: ToolsRegistry = { save: (r: { name: string; token: string }) => ({ id: `rec-${r.name}`, token: r.token }) };

describe('step I/O capture on local-aws', () => {
  it('stores tool arguments and results through the worker, redacted and capped', async () => {
    const rt = await createLocalRuntime({ toolsRegistry: tools, capture: { redact: ['token'], maxChars: 200 } });
    try {
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { record: { name: 'ada', token: 'secret-1' } },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      const events = await rt.backends.telemetry.getEvents(id);
      expect(events.find((e) => e.event_type === 'tool_call')).toMatchObject({
        arguments: { name: 'ada', token: REDACTED },
        result: { id: 'rec-ada', token: REDACTED },
      });
      expect(events.find((e) => e.event_type === 'node_completed')).toMatchObject({
        outputs: { saved: [{ id: 'rec-ada', token: REDACTED }] },
        selected_by: 'conditions',
        emissions: [{ signal: 'SAVED', emitted: true }],
      });
      expect(JSON.stringify(events)).not.toContain('secret-1');
    } finally {
      await rt.close();
    }
  });

  it('reads SOE_CAPTURE_MAX_CHARS and SOE_REDACT_FIELDS, refusing a bad cap by name', () => {
    const base = { TABLE_NAME: 't', QUEUE_URL: 'q' };
    expect(readRuntimeEnv({ ...base, SOE_CAPTURE_MAX_CHARS: '0', SOE_REDACT_FIELDS: 'password, apiKey' }).capture).toEqual({
      maxChars: 0,
      redact: ['password', 'apiKey'],
    });
    expect(readRuntimeEnv(base).capture).toBeUndefined();
    expect(() => readRuntimeEnv({ ...base, SOE_CAPTURE_MAX_CHARS: 'lots' })).toThrow(/SOE_CAPTURE_MAX_CHARS must be a whole number/);
  });
});
