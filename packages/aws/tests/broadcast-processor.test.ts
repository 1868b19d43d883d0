/** Pure parts of the worker's broadcast processor: ids of the children a run creates. */
import { describe, expect, it } from 'vitest';
import { deterministicExecutionId } from '../src/index.js';

describe('deterministicExecutionId', () => {
  it('derives the same UUID-shaped child id from the same seed', () => {
    const a = deterministicExecutionId('b1#Fan#0');
    expect(a).toBe(deterministicExecutionId('b1#Fan#0'));
    expect(a).not.toBe(deterministicExecutionId('b1#Fan#1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
