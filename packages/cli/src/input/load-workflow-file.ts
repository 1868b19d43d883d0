/** Reads and validates the workflow file a command is given. */
import { type ParsedConfig, parseConfig, WorkflowValidationError } from '@soe/core';
import { InvalidConfigError, UsageError } from '../errors.js';
import { readInputFile } from './read-input-file.js';

/** A workflow file, read and validated. */
export interface WorkflowFile {
  file: string;
  text: string;
  config: ParsedConfig;
  /** Workflow names in the order written. */
  workflowNames: string[];
}

/** Reads and validates a workflow file; an invalid one throws InvalidConfigError with every problem located. */
export async function loadWorkflowFile(file: string): Promise<WorkflowFile> {
  const text = await readInputFile(file, 'workflow file');
  let config: ParsedConfig;
  try {
    config = parseConfig(text, { file });
  } catch (e) {
    if (e instanceof WorkflowValidationError || (e as Error)?.name === 'WorkflowValidationError') {
      throw new InvalidConfigError(file, (e as WorkflowValidationError).issues);
    }
    throw e;
  }
  return { file, text, config, workflowNames: Object.keys(config.workflows) };
}

/** The workflow to start: `--workflow`, else the first in the file. */
export function pickWorkflow(wf: WorkflowFile, requested: string | undefined): string {
  if (requested === undefined) return wf.workflowNames[0]!;
  if (!wf.workflowNames.includes(requested)) {
    throw new UsageError(`workflow '${requested}' is not defined in ${wf.file}`, {
      hint: `pick one of: ${wf.workflowNames.join(', ')} (without --workflow the first one, '${wf.workflowNames[0]}', starts)`,
    });
  }
  return requested;
}
