// `mozaiks validate [dir] [--strict]`: checks one workflow folder, or every workflow folder inside
// `dir`, and reports each problem as `file:line:column: field: message`, then each warning (what
// loads but has no effect here) as `file:line:column: warning: field: message`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  WorkflowNotFoundError,
  WorkflowValidationError,
  formatProblem,
  isWorkflowFolder,
  loadWorkflow,
} from '@mozaiks/workflows';
import type { WorkflowProblem } from '@mozaiks/workflows';

export interface ValidationReport {
  /** Workflow ids checked. */
  checked: string[];
  /** Problems, formatted, with paths relative to the current folder. */
  problems: string[];
  /** Warnings, formatted the same way (with `warning: ` before the field). */
  warnings: string[];
}

export interface ValidateOptions {
  /** Warnings are problems. */
  strict?: boolean;
}

/** Checks `dir`: a workflow folder itself, or a folder of workflow folders. */
export function validateWorkflows(dir: string, cwd = process.cwd(), options: ValidateOptions = {}): ValidationReport {
  const root = path.resolve(cwd, dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    return { checked: [], problems: [`${dir}: not a folder`], warnings: [] };
  }
  const single = isWorkflowFolder(root);
  const parent = single ? path.dirname(root) : root;
  const ids = single
    ? [path.basename(root)]
    : readdirSync(root)
        .filter((name) => isWorkflowFolder(path.join(root, name)))
        .sort();
  const problems: string[] = [];
  const warnings: string[] = [];
  const place = (p: WorkflowProblem) => ({ ...p, file: path.relative(cwd, path.join(parent, p.file)) });
  const warn = (p: WorkflowProblem) =>
    warnings.push(formatProblem({ ...place(p), field: p.field ? `warning: ${p.field}` : 'warning' }));
  for (const id of ids) {
    try {
      loadWorkflow(parent, id, options).warnings?.forEach(warn);
    } catch (error) {
      if (error instanceof WorkflowValidationError) {
        for (const p of error.problems) problems.push(formatProblem(place(p)));
        error.warnings.forEach(warn);
      } else if (error instanceof WorkflowNotFoundError) {
        problems.push(`${path.relative(cwd, path.join(parent, id, 'orchestrator.yaml'))}:1:1: file is missing`);
      } else {
        throw error;
      }
    }
  }
  return { checked: ids, problems, warnings };
}
