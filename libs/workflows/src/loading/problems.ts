// What a workflow's problems look like to its author: each with file, field, line and column, in
// file order; and the two errors a load ends with.
import path from 'node:path';
import type { z } from 'zod';
import { ErrorCode, RuntimeError } from '@mozaiks/protocol';
import type { WorkflowProblem } from '../workflow-definition.js';
import { WORKFLOW_FILES } from './workflow-files.js';

/** Formats a problem as `file:line:column: field: message`. */
export function formatProblem(p: WorkflowProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export class WorkflowNotFoundError extends RuntimeError {
  override name = 'WorkflowNotFoundError';
  constructor(
    readonly workflowId: string,
    dir: string,
  ) {
    super(ErrorCode.WorkflowNotFound, `workflow "${workflowId}" not found: no folder ${dir} with an orchestrator.yaml`);
  }
}

export class WorkflowValidationError extends RuntimeError {
  override name = 'WorkflowValidationError';
  constructor(
    readonly workflowId: string,
    readonly problems: WorkflowProblem[],
    readonly warnings: WorkflowProblem[] = [],
  ) {
    super(
      ErrorCode.WorkflowInvalid,
      `workflow "${workflowId}" is invalid:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
  }
}

/** A value as a problem message quotes it: short, one line. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A zod issue's message, with the refused value when there was one. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && issue.code === 'invalid_type') return 'is required';
  if (input === undefined || typeof input === 'object' || (typeof input === 'string' && issue.message.includes(input)))
    return issue.message;
  return `${issue.message} (got ${quote(input)})`;
}

/** Problems in file order, then by place, so a report reads top to bottom. */
export function sortProblems(problems: WorkflowProblem[]): WorkflowProblem[] {
  const order = (file: string) => {
    const base = path.basename(file).replace(/\.(ya?ml|json)$/, '');
    const i = [...WORKFLOW_FILES, 'hooks', 'ui_config', '_pack'].indexOf(base === 'config' ? 'orchestrator' : base);
    return i < 0 ? 99 : i;
  };
  return [...problems].sort(
    (a, b) => order(a.file) - order(b.file) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
}
