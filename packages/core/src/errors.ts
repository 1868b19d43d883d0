/**
 * Errors raised by the engine, and the one classifier every runtime sorts errors with ({@link errorKind}).
 * Every class has a `kind` (what went wrong, and so what a runtime does about it) and a marker that
 * survives bundling: `instanceof` works across two copies of this module (a Lambda bundle and the
 * user's tools bundle), as Temporal's `SymbolBasedInstanceOfError` does.
 */

/**
 * What went wrong, which decides what a runtime does:
 * - `invalid_input`: the caller's request or config is at fault (a workflow, a template, a signal, an
 *   unknown execution). Answered to the caller, nothing is stored, never retried.
 * - `node_failure`: a node could not do its work (its tool threw, the model's answers were unusable,
 *   it timed out, a limit stopped it). The node's failure signal fires, or the execution ends FAILED.
 * - `transient`: a retry may succeed (throttling, 5xx, network, a worker's deadline). Runtimes retry.
 * - `internal`: anything else: an error SOE does not recognise, or a broken invariant. Permanent.
 */
export type ErrorKind = 'invalid_input' | 'node_failure' | 'transient' | 'internal';

const ERROR_KINDS: ReadonlySet<string> = new Set<ErrorKind>(['invalid_input', 'node_failure', 'transient', 'internal']);

/** A class, for {@link markErrorClass}. */
type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Makes `instanceof cls` true for instances of `cls` made by any copy of the module that defines it
 * (a bundled copy, a second install): the prototype carries a registry symbol (`Symbol.for`, shared by
 * every module instance in the process) and `instanceof` checks it. Call once per class, with a name
 * unique across SOE; a subclass that is not marked falls back to the ordinary prototype check.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function markErrorClass(cls: ErrorClass, name: string): void {
  const marker = Symbol.for(`soe.error.${name}`);
  Object.defineProperty(cls.prototype, marker, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this === cls) return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
      return Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
}

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

/** Base class of every SOE error: its {@link ErrorKind} says what a runtime does with it. */
export class SoeError extends Error {
  readonly code: string = 'SOE_ERROR';
  readonly kind: ErrorKind = 'internal';
  /** True when the message already says where (workflow, node, field): the engine does not wrap it in {@link NodeExecutionError}. */
  readonly namesLocation: boolean = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SoeError';
  }
  /** True when retrying can plausibly succeed: the kind is `transient`. */
  get retryable(): boolean {
    return this.kind === 'transient';
  }
}
markErrorClass(SoeError, 'SoeError');

/** True for an error of SOE (of any copy of the package: the check survives bundling). */
export function isSoeError(err: unknown): err is SoeError {
  return err instanceof SoeError;
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
  override readonly kind: ErrorKind = 'invalid_input';
  override readonly namesLocation: boolean = true;
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
markErrorClass(WorkflowValidationError, 'WorkflowValidationError');

/** The execution's state is missing or not usable (unknown execution id, no `__operational__`). */
export class OperationalValidationError extends SoeError {
  override readonly code = 'SOE_INVALID_STATE';
  override readonly kind: ErrorKind = 'invalid_input';
  override readonly namesLocation: boolean = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OperationalValidationError';
  }
}
markErrorClass(OperationalValidationError, 'OperationalValidationError');

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
markErrorClass(ToolNodeConfigurationError, 'ToolNodeConfigurationError');

/** A tool returned a value that is not plain data (a cycle, BigInt, Map, NaN…): the same error on every runtime. */
export class ToolResultError extends SoeError {
  override readonly code = 'SOE_TOOL_RESULT';
  override readonly kind: ErrorKind = 'node_failure';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ToolResultError';
  }
}
markErrorClass(ToolResultError, 'ToolResultError');

/** A tool's arguments do not match its JSON Schema. Names the tool and the field. */
export class ToolParameterError extends SoeError {
  override readonly code = 'SOE_TOOL_PARAMETERS';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  readonly toolName: string;
  readonly field: string | undefined;
  constructor(toolName: string, message: string, field?: string, options?: ErrorOptions) {
    super(`Tool '${toolName}'${field ? `, parameter '${field}'` : ''}: ${message}`, options);
    this.name = 'ToolParameterError';
    this.toolName = toolName;
    this.field = field;
  }
}
markErrorClass(ToolParameterError, 'ToolParameterError');

/** A template failed to parse or to render, or tried to leave the sandbox. */
export class TemplateError extends SoeError {
  override readonly code = 'SOE_TEMPLATE';
  override readonly kind: ErrorKind = 'invalid_input';
  override readonly namesLocation: boolean = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateError';
  }
}
markErrorClass(TemplateError, 'TemplateError');

/** The model's answers could not be used after every retry, and the node has no failure signal. */
export class LlmResponseError extends SoeError {
  override readonly code = 'SOE_LLM_RESPONSE';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LlmResponseError';
  }
}
markErrorClass(LlmResponseError, 'LlmResponseError');

/**
 * A built-in tool refused its input: something it was asked to use was not found (a workflow, node,
 * identity, schema field, execution, tool), or an injected workflow, node or field is invalid. The tool
 * node fails as with any tool error (its failure signal fires when it has one); an agent gets the
 * message back as the tool's error. Permanent: the same input is refused again.
 */
export class BuiltinToolError extends SoeError {
  override readonly code = 'SOE_BUILTIN_REFUSED';
  override readonly kind: ErrorKind = 'node_failure';
  /** The built-in that refused (`soe_inject_node`, …), when known. */
  readonly toolName: string | undefined;
  constructor(message: string, toolName?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BuiltinToolError';
    this.toolName = toolName;
  }
}
markErrorClass(BuiltinToolError, 'BuiltinToolError');

/** A node failed while running (no failure signal to route the failure). */
export class NodeExecutionError extends SoeError {
  override readonly code = 'SOE_NODE_FAILED';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  readonly node: string;
  readonly workflow: string | undefined;
  constructor(node: string, message: string, workflow?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NodeExecutionError';
    this.node = node;
    this.workflow = workflow;
  }
}
markErrorClass(NodeExecutionError, 'NodeExecutionError');

/** An error that a retry may cure (throttling, timeouts, 5xx). Runtimes retry these; others are permanent. */
export class TransientError extends SoeError {
  override readonly code = 'SOE_TRANSIENT';
  override readonly kind: ErrorKind = 'transient';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}
markErrorClass(TransientError, 'TransientError');

/**
 * A model provider refused a call in a way that no retry cures: the API key was rejected, the model
 * does not exist, the request is malformed, or the provider is not configured. Permanent: the node
 * fails at once (or emits its `llm_failure_signal`) instead of spending its `retries` on it, and the
 * runtime does not send the message back through the queue.
 */
export class ModelProviderError extends SoeError {
  override readonly code = 'SOE_MODEL_PROVIDER';
  override readonly kind: ErrorKind = 'node_failure';
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
markErrorClass(ModelProviderError, 'ModelProviderError');

/**
 * A node ran past its `timeout_seconds` (tools default to 300 s). Permanent: the node fails with
 * "timed out after N s" and takes its failure signal if it has one, like any other node failure.
 */
export class NodeTimeoutError extends SoeError {
  override readonly code = 'SOE_NODE_TIMEOUT';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  readonly node: string;
  readonly timeoutSeconds: number;
  constructor(workflow: string, node: string, timeoutSeconds: number, options?: ErrorOptions) {
    super(`workflow '${workflow}', node '${node}' timed out after ${timeoutSeconds} s (timeout_seconds)`, options);
    this.name = 'NodeTimeoutError';
    this.node = node;
    this.timeoutSeconds = timeoutSeconds;
  }
}
markErrorClass(NodeTimeoutError, 'NodeTimeoutError');

/**
 * A node did not finish before the runtime's deadline (on AWS: the worker invocation's remaining time
 * minus a reserve). Retryable: the message comes back and the node runs again in a fresh invocation.
 */
export class DeadlineExceededError extends SoeError {
  override readonly code = 'SOE_DEADLINE_EXCEEDED';
  override readonly kind: ErrorKind = 'transient';
  override readonly namesLocation: boolean = true;
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
markErrorClass(DeadlineExceededError, 'DeadlineExceededError');

/**
 * An execution reached its limit on node runs (`limits.max_node_runs`, default 10,000; a child counts
 * the runs of its ancestors up to its start). Permanent: the execution ends FAILED, naming the limit.
 */
export class TokenBudgetError extends SoeError {
  override readonly code = 'SOE_TOKEN_BUDGET';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  constructor(executionId: string, node: string, limit: number, spent: number) {
    super(
      `execution '${executionId}' spent ${spent} model tokens, its budget of ${limit} (limits.max_tokens), before node '${node}' could run; raise limits.max_tokens in the config if the run is meant to cost this much`,
    );
    this.name = 'TokenBudgetError';
  }
}
markErrorClass(TokenBudgetError, 'TokenBudgetError');

/** @see TokenBudgetError (above): the token budget; this one bounds node runs. */
export class NodeRunLimitError extends SoeError {
  override readonly code = 'SOE_NODE_RUN_LIMIT';
  override readonly kind: ErrorKind = 'node_failure';
  override readonly namesLocation: boolean = true;
  readonly limit: number;
  /** The main execution whose tree reached the limit, when it was counted per tree. */
  readonly mainExecutionId?: string;
  constructor(executionId: string, node: string, limit: number, options?: ErrorOptions & { mainExecutionId?: string; counted?: number }) {
    const tree = options?.mainExecutionId;
    super(
      tree === undefined
        ? `execution '${executionId}' reached its limit of ${limit} node runs (limits.max_node_runs) before node '${node}' could run: a loop that never ends? Raise limits.max_node_runs in the config or the start options if the run is meant to be this long`
        : `execution '${executionId}' stopped before node '${node}' could run: the execution tree of '${tree}' (it and all its child executions) made ${options?.counted ?? limit} node runs, reaching its limit of ${limit} (limits.max_node_runs): a loop that never ends, or too many children? Raise limits.max_node_runs in the config or the start options if the run is meant to be this large`,
      options,
    );
    if (tree !== undefined) this.mainExecutionId = tree;
    this.name = 'NodeRunLimitError';
    this.limit = limit;
  }
}
markErrorClass(NodeRunLimitError, 'NodeRunLimitError');

// ---- The classifier: the one place that sorts errors, SOE's and everyone else's. ----

/**
 * Names of errors a later attempt may not meet: the AWS SDK's throttling and transient names (the lists
 * of `@smithy/core/retry`'s service-error classification, which a test keeps in step) and the
 * server-side faults of the services SOE calls.
 */
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  // throttling (smithy THROTTLING_ERROR_CODES)
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
  'KMSThrottlingException',
  // timeouts (smithy TRANSIENT_ERROR_CODES)
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  // server-side faults (DynamoDB, SQS, Secrets Manager, Bedrock)
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'InternalError',
  'InternalServiceError',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/** Node.js / undici error codes meaning the connection failed, not the request (smithy's and undici's). */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** How deep {@link errorKind} follows `cause` links (a cycle or a very long chain stops there). */
const MAX_CAUSE_DEPTH = 8;

/** The fields the classifier reads from an error it does not own (AWS SDK v3, Node.js, fetch). */
interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  retryable?: unknown;
  permanent?: unknown;
  kind?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; clockSkewCorrected?: unknown };
  cause?: unknown;
}

/** True when `err` (or its cause) is a network failure: `fetch failed`, a reset or refused connection. */
export function isNetworkError(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as ErrorShape).cause, depth++) {
    const code = (e as ErrorShape).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
  }
  return false;
}

/** True for an error a retry may cure that is not SOE's: AWS SDK v3 throttling, timeouts, 5xx, 429, network. */
function isForeignTransient(e: ErrorShape): boolean {
  if (e.$retryable) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e instanceof TypeError && e.message === 'fetch failed') return true;
  // The SDK corrected its clock after a skew error: the next attempt is signed right.
  if (e.$metadata?.clockSkewCorrected === true) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

/**
 * The one error classifier of every runtime (the engine, the AWS worker and handlers, the providers).
 * - An SOE error (of any bundled copy) has its class's kind; a `node_failure` or `internal` one whose
 *   `cause` is transient (a throttled write inside a built-in) is transient, unless it is marked
 *   `permanent` (a provider error never is, whatever its cause).
 * - `AbortError`: the caller cancelled the operation (a node's timeout, a deadline, a shutdown). As in
 *   the AWS SDK's retry strategy it is never transient for itself: it takes the kind of its cause (the
 *   abort reason) when it has one, else `internal`.
 * - Errors marked `retryable: true` or `$retryable`, the AWS SDK's throttling and timeout names,
 *   server-side faults, HTTP 429 and 5xx (`$metadata.httpStatusCode`) and network failures are
 *   `transient`, as are errors whose `cause` is.
 * - Anything else is `internal`.
 * Foreign errors are recognised by shape, not class: the SDK's classes differ between bundles.
 */
export function errorKind(err: unknown): ErrorKind {
  return kindOf(err, 0);
}

function kindOf(err: unknown, depth: number): ErrorKind {
  if (typeof err !== 'object' || err === null || depth > MAX_CAUSE_DEPTH) return 'internal';
  const e = err as ErrorShape;
  const causeKind = (): ErrorKind | undefined => (e.cause !== undefined && e.cause !== err ? kindOf(e.cause, depth + 1) : undefined);
  if (isSoeError(err)) {
    const kind: ErrorKind = typeof e.kind === 'string' && ERROR_KINDS.has(e.kind) ? (e.kind as ErrorKind) : 'internal';
    if (kind === 'transient' || kind === 'invalid_input' || e.permanent === true) return kind;
    return causeKind() === 'transient' ? 'transient' : kind;
  }
  if (e.name === 'AbortError') return causeKind() ?? 'internal';
  if (e.retryable === true) return 'transient';
  if (e.permanent === true) return 'internal';
  if (isForeignTransient(e)) return 'transient';
  return causeKind() === 'transient' ? 'transient' : 'internal';
}

/** True when a retry may help: {@link errorKind} is `transient`. */
export function isRetryable(err: unknown): boolean {
  return errorKind(err) === 'transient';
}

/** True for errors caused by the caller's request or config: answered to the caller, never retried. */
export function isInvalidInput(err: unknown): boolean {
  return errorKind(err) === 'invalid_input';
}

/**
 * True when `err` is a permanent model-provider error (a {@link ModelProviderError} of any bundled copy,
 * or an error marked `permanent`): retrying the call, inside the node or through the queue, cannot help.
 */
export function isPermanentModelError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return (err instanceof ModelProviderError || (err as ErrorShape).permanent === true) && errorKind(err) !== 'transient';
}

/**
 * True when the error's message already names where it happened (see {@link SoeError.namesLocation}).
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function namesItsLocation(err: unknown): boolean {
  return isSoeError(err) && err.namesLocation === true;
}
