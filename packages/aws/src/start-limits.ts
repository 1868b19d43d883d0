/**
 * What a start is checked against before anything is stored, so a start the runtime could not carry
 * out is refused whole (with an error naming what and the limit) instead of failing halfway through
 * its writes or its first message.
 */
import type { PreparedExecution } from '@soe/core';
import { LimitExceededError } from './errors.js';
import { checkMessageSize } from './signal-message.js';
import { jsonBytes } from './soe-table.js';

/**
 * Longest workflow or node name, in bytes. Names end up in DynamoDB sort keys (`W#<workflow>`,
 * `C#R#<broadcast>#<node>`, and chunk keys built on those), which hold at most 1024 bytes.
 */
export const MAX_NAME_BYTES = 512;

/** Largest single initial value by default: the worker's default `maxValueBytes` (4 MiB). */
export const DEFAULT_START_VALUE_BYTES = 4 * 1024 * 1024;

/** Limits of {@link checkStartLimits}. */
export interface StartLimits {
  /** Largest single context value, in bytes of JSON (the worker's `maxValueBytes`). */
  maxValueBytes: number;
}

/** Throws a {@link LimitExceededError} for the first limit a prepared execution goes past. */
export function checkStartLimits(p: PreparedExecution, limits: StartLimits): void {
  for (const [workflow, nodes] of Object.entries(p.workflows)) {
    checkName(`workflow name '${short(workflow)}'`, workflow);
    for (const node of Object.keys(nodes)) checkName(`node name '${short(node)}' of workflow '${short(workflow)}'`, node);
  }
  for (const [field, history] of Object.entries(p.fields)) {
    for (const value of history) {
      const bytes = jsonBytes(value);
      if (bytes > limits.maxValueBytes)
        throw new LimitExceededError(
          `initial_context.${field}`,
          bytes,
          limits.maxValueBytes,
          'bytes of JSON',
          'a single context value is at most that large',
        );
    }
  }
  // The initial signals travel as one message: the same check the sender makes, before anything is written.
  checkMessageSize({ i: '00000000-0000-0000-0000-000000000000', t: p.executionId, s: p.initialSignals });
}

/** A name as an error message shows it: at most 60 characters. */
const short = (name: string): string => (name.length > 60 ? `${name.slice(0, 60)}…` : name);

function checkName(what: string, name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) throw new LimitExceededError(what, bytes, MAX_NAME_BYTES, 'bytes', 'names become part of DynamoDB keys');
}
