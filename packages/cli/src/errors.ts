/**
 * Errors of the `soe` command. Every one carries a hint that says what to do next; the entry point
 * prints `soe: <message>` and the hint, and exits with {@link CliError.exitCode}.
 */

/** Base class: a failure the command explains to its user. */
export class CliError extends Error {
  readonly code: string = 'SOE_CLI';
  /** What the user can do about it (printed under the message). */
  readonly hint: string | undefined;
  readonly exitCode: number = 1;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.hint = options.hint;
  }
}

/** A flag or argument is malformed (bad JSON in --context, unknown runtime, …). */
export class UsageError extends CliError {
  override readonly code = 'SOE_CLI_USAGE';
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A file the command needs is missing or unreadable. */
export class InputFileError extends CliError {
  override readonly code = 'SOE_CLI_FILE';
  readonly file: string;
  constructor(file: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'InputFileError';
    this.file = file;
  }
}

/** A deployed function could not be called, or answered with an error (`issues` for a rejected config). */
export class RemoteError extends CliError {
  override readonly code = 'SOE_CLI_REMOTE';
  readonly issues: ReadonlyArray<Record<string, unknown>> | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown; issues?: ReadonlyArray<Record<string, unknown>> } = {}) {
    super(message, options);
    this.name = 'RemoteError';
    this.issues = options.issues;
  }
}

/** The message of any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A workflow file failed validation; `issues` say where (file, line, column, workflow, node, field). */
export class InvalidConfigError extends CliError {
  override readonly code = 'SOE_CLI_INVALID_CONFIG';
  readonly file: string;
  readonly issues: ReadonlyArray<{
    message: string;
    file?: string;
    line?: number;
    column?: number;
    workflow?: string;
    node?: string;
    field?: string;
  }>;
  constructor(file: string, issues: InvalidConfigError['issues'], options: { hint?: string } = {}) {
    super(`${file} is not a valid workflow config (${issues.length} problem${issues.length === 1 ? '' : 's'})`, {
      hint: options.hint ?? `fix the problems above; soe validate ${file} checks the file without running it`,
    });
    this.name = 'InvalidConfigError';
    this.file = file;
    this.issues = issues;
  }
}
