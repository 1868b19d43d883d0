/** The start function: checks a start request whole, stores the new execution and sends its initial signals. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareExecution, storeExecution, type ValidationIssue } from '@soe/core';
import { classifyError, describeError, RequestValidationError } from './errors.js';
import { type HandlerError, isClientError, toHandlerError } from './handler-error.js';
import { createRuntimeServices, type RuntimeDeps } from './runtime-services.js';
import { createSignalSender } from './signal-sender.js';
import { checkStartLimits, DEFAULT_START_VALUE_BYTES } from './start-limits.js';

/** The start request: a config (inline or a deployed workflow file by name) and how to start it. */
export interface StartRequest {
  /** YAML text or a parsed config object. */
  config?: string | object;
  /** Name of a deployed workflow file (instead of `config`). */
  workflowName?: string;
  initialWorkflowName: string;
  initialSignals: string[];
  initialContext?: Record<string, unknown>;
  inheritConfigFromId?: string;
  inheritContextFromId?: string;
  /** Limits for this run, over the config's `limits:` (`max_node_runs` or `maxNodeRuns`). */
  limits?: { max_node_runs?: number; maxNodeRuns?: number };
  /** Refuse the config's warnings too (unknown keys that are no near miss). */
  strict?: boolean;
}

/** Reads the request's `limits` (snake_case or camelCase). */
function limitsOf(value: unknown): { maxNodeRuns?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new RequestValidationError(`'limits' must be an object such as { "max_node_runs": 500 }`);
  const v = value as Record<string, unknown>;
  const maxNodeRuns = v.maxNodeRuns ?? v.max_node_runs;
  return maxNodeRuns === undefined ? undefined : { maxNodeRuns: maxNodeRuns as number };
}

/** Dependencies of {@link createStartHandler}. */
export interface StartDeps extends RuntimeDeps {
  /** Deployed workflow files by name (bundled into the function): YAML text or parsed config. */
  workflows?: Record<string, string | object>;
  /** A directory of deployed workflow files `<name>.yaml`, `<name>.yml` or `<name>.json`. */
  workflowsDir?: string;
  /** Largest single initial context value, in bytes of JSON (keep it equal to the worker's). @default 4 MiB */
  maxValueBytes?: number;
}

/** The start handler's answer. */
/** `warnings`: what the config validator accepted but reports (unknown keys), when there is any. */
export type StartResponse = { executionId: string; warnings?: ValidationIssue[] } | HandlerError;

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The answer to a start whose writes or first message failed (and was undone). */
function startFailed(cause: unknown): HandlerError {
  const err = cause as { name?: unknown; message?: unknown; code?: unknown };
  const retryable = classifyError(cause) === 'transient';
  return {
    error: {
      type: 'StartFailedError',
      code: typeof err?.code === 'string' ? err.code : 'SOE_START_FAILED',
      message: `the execution could not be started and nothing of it is kept (${describeError(cause)})${retryable ? '; a retry may succeed' : ''}`,
    },
  };
}

/** Reads `camelCase` or `snake_case` (what the CLI and the SOE format write) from a request. */
function pick<T>(event: Record<string, unknown>, camel: string, snake: string): T | undefined {
  return (event[camel] ?? event[snake]) as T | undefined;
}

/**
 * Creates the start handler: validates the request, the config and the limits first (storing nothing
 * when any is bad, and answering with an error object listing every issue), then stores the execution
 * and sends its initial signals to the worker queue. Answers `{ executionId }` once the signals are
 * sent. When a write or the send fails midway, what was written is removed before the error answer
 * (`StartFailedError`), so the id of a failed start reads NOT_FOUND.
 * @example
 * const start = createStartHandler({ dynamo, sqs, tableName, queueUrl, workflows: { support: supportYaml } });
 * await start({ workflowName: 'support', initialWorkflowName: 'main', initialSignals: ['START'] });
 */
export function createStartHandler(deps: StartDeps): (event: StartRequest) => Promise<StartResponse> {
  const services = createRuntimeServices(deps, 'soe-start');
  const send = createSignalSender(services);

  const deployedConfig = async (name: string): Promise<string | object> => {
    if (!NAME.test(name)) throw new RequestValidationError(`'workflowName' must be a plain file name, got ${JSON.stringify(name)}`);
    if (deps.workflows && Object.hasOwn(deps.workflows, name)) return deps.workflows[name]!;
    if (deps.workflowsDir) {
      for (const ext of ['', '.yaml', '.yml', '.json']) {
        try {
          const text = await readFile(join(deps.workflowsDir, name + ext), 'utf8');
          return ext === '.json' ? (JSON.parse(text) as object) : text;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'EISDIR') throw e;
        }
      }
    }
    const known = Object.keys(deps.workflows ?? {});
    throw new RequestValidationError(`no deployed workflow file '${name}'${known.length ? ` (deployed: ${known.join(', ')})` : ''}`);
  };

  return async (event) => {
    try {
      if (typeof event !== 'object' || event === null) throw new RequestValidationError('the start request must be an object');
      const e = event as unknown as Record<string, unknown>;
      const workflowName = pick<string>(e, 'workflowName', 'workflow_name');
      if (workflowName !== undefined && e.config !== undefined)
        throw new RequestValidationError(`give either 'config' or 'workflowName', not both`);
      const config = workflowName !== undefined ? await deployedConfig(workflowName) : (e.config as string | object | undefined);
      const prepared = await prepareExecution({
        config,
        initialWorkflowName: pick<string>(e, 'initialWorkflowName', 'initial_workflow_name') as string,
        initialSignals: pick<string[]>(e, 'initialSignals', 'initial_signals') as string[],
        initialContext: pick<Record<string, unknown>>(e, 'initialContext', 'initial_context'),
        inheritConfigFromId: pick<string>(e, 'inheritConfigFromId', 'inherit_config_from_id'),
        inheritContextFromId: pick<string>(e, 'inheritContextFromId', 'inherit_context_from_id'),
        limits: limitsOf(e.limits),
        strict: e.strict === true,
        backends: services.backends,
      });
      checkStartLimits(prepared, { maxValueBytes: deps.maxValueBytes ?? DEFAULT_START_VALUE_BYTES });
      try {
        await storeExecution(services.backends, prepared);
        await send(prepared.executionId, prepared.initialSignals);
      } catch (cause) {
        await services.backends.context
          .deleteContext(prepared.executionId)
          .catch((e) =>
            services.logger.error('could not remove a failed start', { executionId: prepared.executionId, error: describeError(e) }),
          );
        services.logger.error('start failed; nothing is kept', { executionId: prepared.executionId, error: describeError(cause) });
        return startFailed(cause);
      }
      services.logger.info('execution started', {
        executionId: prepared.executionId,
        workflow: prepared.initialWorkflowName,
        signals: prepared.initialSignals,
      });
      return { executionId: prepared.executionId, ...(prepared.warnings ? { warnings: prepared.warnings } : {}) };
    } catch (e) {
      if (!isClientError(e)) throw e;
      services.logger.warn('start request rejected', { error: (e as Error).message });
      return toHandlerError(e);
    }
  };
}
