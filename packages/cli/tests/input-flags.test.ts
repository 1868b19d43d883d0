/** Parsing of the command's flags (input/parse-signals.ts, parse-runtime.ts, parse-context.ts). */
import { describe, expect, it } from 'vitest';
import { parseContext } from '../src/input/parse-context.js';
import { parseRuntime } from '../src/input/parse-runtime.js';
import { parseSignals } from '../src/input/parse-signals.js';

describe('flag parsing', () => {
  it('parseSignals splits on commas and spaces and defaults to START', () => {
    expect(parseSignals(undefined)).toEqual(['START']);
    expect(parseSignals('A, B,C')).toEqual(['A', 'B', 'C']);
    expect(() => parseSignals(' , ')).toThrow(/names no signal/);
  });

  it('parseRuntime', () => {
    expect(parseRuntime(undefined)).toEqual({ kind: 'memory' });
    expect(parseRuntime('local-aws')).toEqual({ kind: 'local-aws' });
    expect(parseRuntime('file:data')).toMatchObject({ kind: 'file', text: 'file:data', dir: expect.stringMatching(/\/data$/) });
    expect(() => parseRuntime('dynamo')).toThrow(/unknown runtime 'dynamo'/);
  });

  it('parseContext takes a JSON object', async () => {
    expect(await parseContext('{"a": [1]}')).toEqual({ a: [1] });
    expect(await parseContext(undefined)).toBeUndefined();
    await expect(parseContext('"text"')).rejects.toThrow(/must be a JSON object/);
  });
});
