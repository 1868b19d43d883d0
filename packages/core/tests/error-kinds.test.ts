/** The error taxonomy: every class's kind, how foreign errors are sorted, and guards that survive bundling. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BuiltinToolError,
  createEngine,
  createInMemoryBackends,
  DeadlineExceededError,
  type ErrorKind,
  errorKind,
  isPermanentModelError,
  isRetryable,
  isSoeError,
  LlmResponseError,
  ModelProviderError,
  NodeExecutionError,
  NodeRunLimitError,
  NodeTimeoutError,
  namesItsLocation,
  OperationalValidationError,
  orchestrate,
  SignalRefusedError,
  SoeError,
  TemplateError,
  TokenBudgetError,
  ToolNodeConfigurationError,
  ToolParameterError,
  ToolResultError,
  TransientError,
  WorkflowValidationError,
} from '../src/index.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} happened`), { name, ...extra });

describe('every SOE error class has one kind', () => {
  it.each<[string, unknown, ErrorKind]>([
    ['WorkflowValidationError', new WorkflowValidationError('bad'), 'invalid_input'],
    ['ToolNodeConfigurationError', new ToolNodeConfigurationError('no tool'), 'invalid_input'],
    ['OperationalValidationError', new OperationalValidationError('no state'), 'invalid_input'],
    ['TemplateError', new TemplateError('bad template'), 'invalid_input'],
    ['SignalRefusedError', new SignalRefusedError('refused', 'cancelled'), 'invalid_input'],
    ['NodeExecutionError', new NodeExecutionError('n', 'failed'), 'node_failure'],
    ['ToolResultError', new ToolResultError('a Map'), 'node_failure'],
    ['ToolParameterError', new ToolParameterError('t', 'missing', 'q'), 'node_failure'],
    ['LlmResponseError', new LlmResponseError('no usable answer'), 'node_failure'],
    ['BuiltinToolError', new BuiltinToolError('refused', 'soe_inject_node'), 'node_failure'],
    ['ModelProviderError', new ModelProviderError('openai', 'bad key', { status: 401 }), 'node_failure'],
    ['NodeTimeoutError', new NodeTimeoutError('w', 'n', 1), 'node_failure'],
    ['NodeRunLimitError', new NodeRunLimitError('e', 'n', 10), 'node_failure'],
    ['TokenBudgetError', new TokenBudgetError('e', 'n', 10, 11), 'node_failure'],
    ['TransientError', new TransientError('later'), 'transient'],
    ['DeadlineExceededError', new DeadlineExceededError('w', 'n'), 'transient'],
    ['SoeError (the base)', new SoeError('?'), 'internal'],
  ])('%s is %s, and retryable only when transient', (_, err, kind) => {
    expect(errorKind(err)).toBe(kind);
    expect((err as SoeError).kind).toBe(kind);
    expect((err as SoeError).retryable).toBe(kind === 'transient');
    expect(isRetryable(err)).toBe(kind === 'transient');
  });
});

describe('errors SOE does not own', () => {
  it.each<[string, unknown]>([
    ['DynamoDB throttling', sdkError('ProvisionedThroughputExceededException', { $metadata: { httpStatusCode: 400 } })],
    ['SQS throttling by name', sdkError('RequestThrottled')],
    ['S3-style SlowDown', sdkError('SlowDown')],
    ['an SDK error marked $retryable', sdkError('SomethingNew', { $retryable: { throttling: true } })],
    ['an HTTP 500', sdkError('InternalServerError', { $metadata: { httpStatusCode: 500 } })],
    ['an HTTP 503 of any name', sdkError('Whatever', { $metadata: { httpStatusCode: 503 } })],
    ['an HTTP 429', sdkError('Whatever', { $metadata: { httpStatusCode: 429 } })],
    ['an SDK request timeout', sdkError('TimeoutError')],
    [
      'a clock skew the SDK corrected',
      sdkError('InvalidSignatureException', { $metadata: { httpStatusCode: 403, clockSkewCorrected: true } }),
    ],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['fetch that could not connect', new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })],
    ['an error marked retryable', Object.assign(new Error('busy'), { retryable: true })],
    ['a plain error caused by throttling', new Error('could not write', { cause: sdkError('ThrottlingException') })],
    [
      'a built-in refusal caused by throttling',
      new BuiltinToolError('could not write', 'soe_update_context', { cause: sdkError('ThrottlingException') }),
    ],
    [
      'an AbortError whose reason is transient',
      Object.assign(new Error('aborted', { cause: new TransientError('later') }), { name: 'AbortError' }),
    ],
  ])('%s is transient', (_, err) => expect(errorKind(err)).toBe('transient'));

  it.each<[string, unknown, ErrorKind]>([
    ['a plain error', new Error('bad'), 'internal'],
    ['a TypeError', new TypeError('x is not a function'), 'internal'],
    ['an SDK validation error', sdkError('ValidationException', { $metadata: { httpStatusCode: 400 } }), 'internal'],
    ['an SDK access denied', sdkError('AccessDeniedException', { $metadata: { httpStatusCode: 403 } }), 'internal'],
    ['an AbortError with no reason', Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'internal'],
    ['a DOMException AbortError', new DOMException('This operation was aborted', 'AbortError'), 'internal'],
    [
      'an AbortError whose reason is a node timeout',
      Object.assign(new Error('aborted', { cause: new NodeTimeoutError('w', 'n', 1) }), { name: 'AbortError' }),
      'node_failure',
    ],
    ['an error marked permanent', Object.assign(new Error('no'), { permanent: true, $metadata: { httpStatusCode: 503 } }), 'internal'],
    ['a string', 'ThrottlingException', 'internal'],
    ['undefined', undefined, 'internal'],
  ])('%s is %s', (_, err, kind) => expect(errorKind(err)).toBe(kind));

  it('a permanent provider error stays permanent whatever its cause says', () => {
    const err = new ModelProviderError('openai', 'no quota', { status: 429, cause: sdkError('x', { $metadata: { httpStatusCode: 429 } }) });
    expect(errorKind(err)).toBe('node_failure');
    expect(isPermanentModelError(err)).toBe(true);
  });

  it('invalid input stays invalid input whatever its cause says', () => {
    expect(errorKind(new WorkflowValidationError('bad', { cause: sdkError('ThrottlingException') }))).toBe('invalid_input');
  });

  it('a cause chain that loops ends', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(errorKind(a)).toBe('internal');
  });
});

describe('the engine sorts node errors with the classifier', () => {
  const config = `main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: call\n`;
  const run = (thrown: unknown, propagateTransient: boolean) => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, {
      toolsRegistry: {
        call: () => {
          throw thrown;
        },
      },
      propagateTransient,
    });
    return orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }).catch(
      (e) => e,
    );
  };

  it('a throttled AWS call inside a tool goes back to the queue on a runtime that retries', async () => {
    const throttled = sdkError('ThrottlingException', { $metadata: { httpStatusCode: 400 } });
    expect(await run(throttled, true)).toBe(throttled);
  });

  it('the same error fails the node, named, where nothing retries', async () => {
    const err = await run(sdkError('ThrottlingException'), false);
    expect(err).toBeInstanceOf(NodeExecutionError);
    expect(err.message).toBe("workflow 'main', node 'W' failed: ThrottlingException happened");
  });

  it('an error that names its place keeps its words', async () => {
    const err = await run(new ToolParameterError('call', 'is required', 'q'), false);
    expect(err).toBeInstanceOf(ToolParameterError);
    expect(err.message).toBe("Tool 'call', parameter 'q': is required");
  });
});

describe('guards survive bundling (two copies of the module in one process)', () => {
  let dir: string;
  let copy: typeof import('../src/errors.js');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soe-errors-copy-'));
    const outfile = join(dir, 'errors-copy.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../src/errors.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile,
      logLevel: 'silent',
    });
    copy = await import(pathToFileURL(outfile).href);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the copy is another module instance with its own classes', () => {
    expect(copy.WorkflowValidationError).not.toBe(WorkflowValidationError);
    expect(Object.getPrototypeOf(new copy.TransientError('x'))).not.toBe(TransientError.prototype);
  });

  it("errors made by the copy classify here, and this module's errors classify there", () => {
    expect(errorKind(new copy.WorkflowValidationError('bad'))).toBe('invalid_input');
    expect(errorKind(new copy.TransientError('later'))).toBe('transient');
    expect(errorKind(new copy.NodeTimeoutError('w', 'n', 1))).toBe('node_failure');
    expect(copy.errorKind(new TemplateError('bad'))).toBe('invalid_input');
    expect(copy.errorKind(new DeadlineExceededError('w', 'n'))).toBe('transient');
    expect(isPermanentModelError(new copy.ModelProviderError('openai', 'bad key'))).toBe(true);
    expect(namesItsLocation(new copy.LlmResponseError('workflow w, node n: no answer'))).toBe(true);
  });

  it('instanceof works across copies, class by class', () => {
    const fromCopy = new copy.ToolNodeConfigurationError('no tool');
    expect(fromCopy).toBeInstanceOf(ToolNodeConfigurationError);
    expect(fromCopy).toBeInstanceOf(WorkflowValidationError);
    expect(fromCopy).toBeInstanceOf(SoeError);
    expect(fromCopy).toBeInstanceOf(Error);
    expect(fromCopy).not.toBeInstanceOf(TemplateError);
    expect(isSoeError(fromCopy)).toBe(true);
    expect(new WorkflowValidationError('x')).toBeInstanceOf(copy.WorkflowValidationError);
    expect(new Error('plain')).not.toBeInstanceOf(copy.SoeError);
    expect(isSoeError({ name: 'WorkflowValidationError', kind: 'invalid_input' })).toBe(false);
  });

  it('a subclass nobody marked keeps the ordinary instanceof', () => {
    class MyError extends TransientError {}
    expect(new MyError('x')).toBeInstanceOf(MyError);
    expect(new TransientError('x')).not.toBeInstanceOf(MyError);
    expect(errorKind(new MyError('x'))).toBe('transient');
  });
});
