/** One retry budget per node call: a provider's own retries count against the node's `retries`. Loopback only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, createInMemoryBackends, createOpenAiCaller, orchestrate } from '../src/index.js';
import { chatCompletion, type FakeServer, startFakeServer } from './providers-fake-server.js';

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});

const config = `main:\n  Ask:\n    node_type: llm\n    event_triggers: [START]\n    prompt: hi\n    retries: 3\n    output_field: answer\n`;

async function runAgainst(replies: Parameters<FakeServer['reply']>) {
  server.requests.length = 0;
  server.reply(...replies);
  const callLlm = createOpenAiCaller({
    baseUrl: `${server.url}/v1`,
    model: 'm',
    env: {},
    retry: { maxAttempts: 4, timeoutMs: 2_000, baseDelayMs: 1, maxDelayMs: 2 },
  });
  const backends = createInMemoryBackends();
  const { broadcastSignalsCaller } = createEngine(backends, { callLlm });
  return orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
}

describe('retries do not multiply', () => {
  it('an endpoint that always answers 503 gets 4 requests for retries: 3 with 4 transport attempts, not 16', async () => {
    await expect(runAgainst([{ status: 503, body: { error: { message: 'down' } } }])).rejects.toThrow(/failed 4 times/);
    expect(server.requests).toHaveLength(4);
  });

  it('transport attempts left over still serve the node: a 503 then a usable answer succeeds', async () => {
    await expect(runAgainst([{ status: 503, body: {} }, { body: chatCompletion('{"answer": "ok"}') }])).resolves.toBeTypeOf('string');
    expect(server.requests).toHaveLength(2);
  });
});
