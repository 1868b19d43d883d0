/** The environment contract: what `runtimeEnvironment` writes, `readRuntimeEnv` reads back, under the names of `ENV`. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RECEIVE_COUNT as FROM_ENV_ENTRY } from '../src/env-contract.js';
import { DEFAULT_MAX_RECEIVE_COUNT, ENV, readRuntimeEnv, runtimeEnvironment } from '../src/index.js';
import { RedeliveryPolicy } from '../src/worker-redelivery.js';

describe('the environment contract', () => {
  it('reads back every setting it writes', () => {
    const settings = {
      tableName: 'soe',
      queueUrl: 'https://sqs.local/q.fifo',
      delayQueueUrl: 'https://sqs.local/d',
      maxReceiveCount: 7,
      telemetryTtlDays: 3,
      executionRetentionDays: 9,
      workflowsDir: 'workflows',
    };
    const env = runtimeEnvironment(settings);
    expect(Object.keys(env).sort()).toEqual(
      [
        ENV.tableName,
        ENV.queueUrl,
        ENV.delayQueueUrl,
        ENV.maxReceiveCount,
        ENV.telemetryTtlDays,
        ENV.executionRetentionDays,
        ENV.workflowsDir,
      ].sort(),
    );
    expect(readRuntimeEnv(env)).toEqual(settings);
  });

  it('leaves unset settings out', () => {
    expect(runtimeEnvironment({ tableName: 't' })).toEqual({ TABLE_NAME: 't' });
  });

  it('one maxReceiveCount default: the worker’s redelivery policy uses the contract’s (5)', () => {
    expect(DEFAULT_MAX_RECEIVE_COUNT).toBe(5);
    expect(FROM_ENV_ENTRY).toBe(5);
    expect(new RedeliveryPolicy({} as never, { queueUrl: 'q' } as never).maxReceiveCount).toBe(5);
  });

  it('names a missing or malformed variable', () => {
    expect(() => readRuntimeEnv({ QUEUE_URL: 'q' })).toThrow(/environment variable TABLE_NAME is not set/);
    expect(() => readRuntimeEnv({ TABLE_NAME: 't', QUEUE_URL: 'q', MAX_RECEIVE_COUNT: 'five' })).toThrow(
      /MAX_RECEIVE_COUNT must be a positive number, got 'five'/,
    );
  });
});
