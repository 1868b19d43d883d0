/** Finding the deployed functions from CDK outputs (remote/resolve-function.ts). */
import { describe, expect, it } from 'vitest';
import { functionFromOutputs } from '../src/remote/resolve-function.js';

describe('functionFromOutputs', () => {
  const outputs = JSON.stringify({
    Soe: {
      StartFunctionName: 'Soe-Start-1',
      SignalFunctionName: 'Soe-Signal-1',
      StatusFunctionName: 'Soe-Status-1',
      WorkerFunctionName: 'Soe-Worker-1',
    },
  });

  it('reads the outputs of lib/soe-stack.ts', () => {
    expect(functionFromOutputs('start', 'o.json', outputs)).toBe('Soe-Start-1');
    expect(functionFromOutputs('signal', 'o.json', outputs)).toBe('Soe-Signal-1');
    expect(functionFromOutputs('status', 'o.json', outputs)).toBe('Soe-Status-1');
  });

  it('matches hashed output keys of nested constructs, preferring a name over an ARN', () => {
    const nested = JSON.stringify({
      App: { OrchStartFunctionArnAB12: 'arn:aws:lambda:eu-west-1:1:function:s', OrchStartFunctionName9F3C: 'app-start' },
    });
    expect(functionFromOutputs('start', 'o.json', nested)).toBe('app-start');
  });

  it('asks for --stack when several stacks match, and says what is missing', () => {
    const two = JSON.stringify({ A: { StartFunctionName: 'a' }, B: { StartFunctionName: 'b' } });
    expect(() => functionFromOutputs('start', 'o.json', two)).toThrow(/several stacks \(A, B\)/);
    expect(functionFromOutputs('start', 'o.json', two, 'B')).toBe('b');
    expect(() => functionFromOutputs('status', 'o.json', JSON.stringify({ A: {} }))).toThrow(/names no status function/);
    expect(() => functionFromOutputs('start', 'o.json', 'nope')).toThrow(/is not JSON/);
  });
});
