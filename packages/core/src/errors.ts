/**
 * Errors raised by the engine. Every class sets `name` (errors cross bundle boundaries, so callers
 * match on `name` or on `retryable`, not only on `instanceof`) and says whether retrying can help.
 */

/** Where in a config a problem sits, in the workflow author's terms. */
export interface ConfigLocation {
  readonly file?: string;
  readonly workflow?: string;
  readonly node?: string;
  readonly field?: string;
}

/** One problem found while validating a config. */
export interface ValidationIssue extends ConfigLocation {
  readonly message: string;
  /** `warning` for what is accepted but reported (an unknown key that is no near miss); absent means an error. */
  readonly severity?: 'error' | 'warning';
  /** 1-based line and column in the YAML text, when the config was given as text. */
  readonly line?: number;
  readonly column?: number;
}

/** Base class of every SOE error. `retryable` is false unless retrying can plausibly succeed. */
export class SoeError extends Error {
  readonly code: string = 'SOE_ERROR';
  readonly retryable: boolean = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SoeError';
  }
}

/** Formats a location as `workflow 'w', node 'n', field 'f'`. */
export function describeLocation(loc: ConfigLocation): string {
  const parts: string[] = [];
  if (loc.file) parts.push(`file '${loc.file}'`);
  if (loc.workflow) parts.push(`workflow '${loc.workflow}'`);
  if (loc.node) parts.push(`node '${loc.node}'`);
  if (loc.field) parts.push(`field '${loc.field}'`);
  return parts.join(', ');
}

/** A config (workflows, schema, identities) was rejected. Lists every problem found, not just the first. */
export class WorkflowValidationError extends SoeError {
  override readonly code: string = 'SOE_INVALID_WORKFLOW';
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[] | string, options?: ErrorOptions) {
    const list: ValidationIssue[] = typeof issues === 'string' ? [{ message: issues }] : [...issues];
    const lines = list.map((i) => {
      const pos = i.line ? ` (line ${i.line}${i.column ? `, column ${i.column}` : ''})` : '';
      const where = describeLocation(i) + pos;
      return where ? `${where}: ${i.message}` : i.message;
    });
    super(
      list.length === 1
        ? `Invalid workflow config: ${lines[0]}`
        : `Invalid workflow config (${list.length} problems):\n  - ${lines.join('\n  - ')}`,
      options,
    );
    this.name = 'WorkflowValidationError';
    this.issues = list;
  }
}

/** The execution's state is missing or not usable (unknown execution id, no `__operational__`). */
export class OperationalValidationError extends SoeError {
  override readonly code = 'SOE_INVALID_STATE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OperationalValidationError';
  }
}

/**
 * A tool node names a tool that is not in the registry, or a registry entry is not callable. A
 * validation error of the workflow (a subclass of {@link WorkflowValidationError}), so code that
 * catches validation errors catches it; the message is kept as given, without the config prefix.
 */
export class ToolNodeConfigurationError extends WorkflowValidationError {
  override readonly code: string = 'SOE_TOOL_CONFIG';
  constructor(message: string | readonly ValidationIssue[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'ToolNodeConfigurationError';
    if (typeof message === 'string') this.message = message;
  }
}

/** A tool returned a value that is not plain data (a cycle, BigInt, Map, NaN…): the same error on every runtime. */
export class ToolResultError extends SoeError {
  override readonly code = 'SOE_TOOL_RESULT';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ToolResultError';
  }
}

/** A tool's arguments do not match its JSON Schema. Names the tool and the field. */
export class ToolParameterError extends SoeError {
  override readonly code = 'SOE_TOOL_PARAMETERS';
  readonly toolName: string;
  readonly field: string | undefined;
  constructor(toolName: string, message: string, field?: string, options?: ErrorOptions) {
    super(`Tool '${toolName}'${field ? `, parameter '${field}'` : ''}: ${message}`, options);
    this.name = 'ToolParameterError';
    this.toolName = toolName;
    this.field = field;
  }
}

/** A template failed to parse or to render, or tried to leave the sandbox. */
export class TemplateError extends SoeError {
  override readonly code = 'SOE_TEMPLATE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateError';
  }
}

/** The model's answers could not be used after every retry, and the node has no failure signal. */
export class LlmResponseError extends SoeError {
  override readonly code = 'SOE_LLM_RESPONSE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LlmResponseError';
  }
}

/**
 * A built-in tool refused its input: something it was asked to use was not found (a workflow, node,
 * identity, schema field, execution, tool), or an injected workflow, node or field is invalid. The tool
 * node fails as with any tool error (its failure signal fires when it has one); an agent gets the
 * message back as the tool's error. Permanent: the same input is refused again.
 */
export class BuiltinToolError extends SoeError {
  override readonly code = 'SOE_BUILTIN_REFUSED';
  /** The built-in that refused (`soe_inject_node`, …), when known. */
  readonly toolName: string | undefined;
  constructor(message: string, toolName?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BuiltinToolError';
    this.toolName = toolName;
  }
}

/** A node failed while running (no failure signal to route the failure). */
export class NodeExecutionError extends SoeError {
  override readonly code = 'SOE_NODE_FAILED';
  readonly node: string;
  readonly workflow: string | undefined;
  constructor(node: string, message: string, workflow?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NodeExecutionError';
    this.node = node;
    this.workflow = workflow;
  }
}

/** An error that a retry may cure (throttling, timeouts, 5xx). Runtimes retry these; others are permanent. */
export class TransientError extends SoeError {
  override readonly code = 'SOE_TRANSIENT';
  override readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Names of errors that a later attempt may not meet: throttling, capacity, server side (AWS SDK names). */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'KMSThrottlingException',
]);

/** Node.js network error codes: the connection, not the request, failed. */
const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

/**
 * The one error classifier of every runtime: true when a retry may help. Transient are errors marked
 * `retryable: true` (TransientError), AWS SDK errors marked `$retryable` or named for throttling or a
 * server-side fault, HTTP 429 and 5xx (`$metadata.httpStatusCode`), network failures, and errors whose
 * `cause` is one of these (a throttled write inside a built-in). An error marked `permanent` never is.
 * Errors are recognised by shape, not class, because classes differ between bundles.
 */
export function isRetryable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 8) return false;
  const e = err as {
    retryable?: unknown;
    permanent?: unknown;
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  if (e.retryable === true) return true;
  if (e.permanent === true) return false;
  if (e.$retryable) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && TRANSIENT_NET_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  return e.cause !== undefined && e.cause !== err && isRetryable(e.cause, depth + 1);
}

/**
 * A model provider refused a call in a way that no retry cures: the API key was rejected, the model
 * does not exist, the request is malformed, or the provider is not configured. Permanent: the node
 * fails at once (or emits its `llm_failure_signal`) instead of spending its `retries` on it, and the
 * runtime does not send the message back through the queue.
 */
export class ModelProviderError extends SoeError {
  override readonly code = 'SOE_MODEL_PROVIDER';
  /** Marks the error as permanent for code that matches on a marker rather than on the class. */
  readonly permanent = true;
  /** `openai`, `bedrock`, `scripted`… */
  readonly provider: string;
  /** The HTTP status the provider answered with, when there was one. */
  readonly status: number | undefined;
  constructor(provider: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(`${provider}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ModelProviderError';
    this.provider = provider;
    this.status = opts.status;
  }
}

/**
 * True when `err` is a permanent model-provider error (matched by name or marker, so it works across
 * bundles): retrying the call, inside the node or through the queue, cannot help.
 */
export function isPermanentModelError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; permanent?: unknown; retryable?: unknown };
  return e.retryable !== true && (e.name === 'ModelProviderError' || e.permanent === true);
}

/**
 * A node ran past its `timeout_seconds` (tools default to 300 s). Permanent: the node fails with
 * "timed out after N s" and takes its failure signal if it has one, like any other node failure.
 */
export class NodeTimeoutError extends SoeError {
  override readonly code = 'SOE_NODE_TIMEOUT';
  readonly node: string;
  readonly timeoutSeconds: number;
  constructor(workflow: string, node: string, timeoutSeconds: number, options?: ErrorOptions) {
    super(`workflow '${workflow}', node '${node}' timed out after ${timeoutSeconds} s (timeout_seconds)`, options);
    this.name = 'NodeTimeoutError';
    this.node = node;
    this.timeoutSeconds = timeoutSeconds;
  }
}

/**
 * A node did not finish before the runtime's deadline (on AWS: the worker invocation's remaining time
 * minus a reserve). Retryable: the message comes back and the node runs again in a fresh invocation.
 */
export class DeadlineExceededError extends SoeError {
  override readonly code = 'SOE_DEADLINE_EXCEEDED';
  override readonly retryable = true;
  readonly node: string;
  constructor(workflow: string, node: string, options?: ErrorOptions) {
    super(
      `workflow '${workflow}', node '${node}' timed out: it was still running when the worker invocation's time ran out (the function timeout less a reserve)`,
      options,
    );
    this.name = 'DeadlineExceededError';
    this.node = node;
  }
}

/**
 * An execution reached its limit on node runs (`limits.max_node_runs`, default 10,000; a child counts
 * the runs of its ancestors up to its start). Permanent: the execution ends FAILED, naming the limit.
 */
export class TokenBudgetError extends SoeError {
  override readonly code = 'SOE_TOKEN_BUDGET';
  constructor(executionId: string, node: string, limit: number, spent: number) {
    super(
      `execution '${executionId}' spent ${spent} model tokens, its budget of ${limit} (limits.max_tokens), before node '${node}' could run; raise limits.max_tokens in the config if the run is meant to cost this much`,
    );
    this.name = 'TokenBudgetError';
  }
}

/** @see TokenBudgetError (above): the token budget; this one bounds node runs. */
export class NodeRunLimitError extends SoeError {
  override readonly code = 'SOE_NODE_RUN_LIMIT';
  readonly limit: number;
  constructor(executionId: string, node: string, limit: number, options?: ErrorOptions) {
    super(
      `execution '${executionId}' reached its limit of ${limit} node runs (limits.max_node_runs) before node '${node}' could run: a loop that never ends? Raise limits.max_node_runs in the config or the start options if the run is meant to be this long`,
      options,
    );
    this.name = 'NodeRunLimitError';
    this.limit = limit;
  }
}
