/** Formats a config problem as a compiler-style `file:line:column: error: …` line. */
import { describeLocation, type ValidationIssue } from '@soe/core';
import type { Style } from './style.js';

/** A problem found in a file, with where it is. */
export interface LocatedProblem {
  file?: string;
  line?: number;
  column?: number;
  workflow?: string;
  node?: string;
  field?: string;
  message: string;
}

/**
 * One problem as a compiler-style line that editors and terminals make clickable:
 * `file:line:column: error: workflow 'main', node 'Ask', field 'prompt': template error: …`
 */
export function formatProblem(p: LocatedProblem, severity: 'error' | 'warning', style: Style, fallbackFile?: string): string {
  const file = p.file ?? fallbackFile;
  const pos = file ? `${file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ` : '';
  const where = describeLocation({ workflow: p.workflow, node: p.node, field: p.field });
  const tag = severity === 'error' ? style.red('error') : style.yellow('warning');
  return `${pos}${tag}: ${where ? `${where}: ` : ''}${p.message}`;
}

/** Validation issues as lines. */
export function formatIssues(issues: readonly ValidationIssue[], style: Style, file?: string): string[] {
  return issues.map((i) => formatProblem(i, 'error', style, file));
}
