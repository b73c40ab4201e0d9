// `mozaiks validate [dir]`: checks one workflow folder, or every workflow folder inside `dir`, and
// reports each problem as `file:line:column: field: message`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { WORKFLOW_FILE_NAMES, WorkflowNotFoundError, WorkflowValidationError, formatProblem, loadWorkflow } from '@mozaiks/workflows';

export interface ValidationReport {
  /** Workflow ids checked. */
  checked: string[];
  /** Problems, formatted, with paths relative to the current folder. */
  problems: string[];
}

/** Checks `dir`: a workflow folder itself, or a folder of workflow folders. */
export function validateWorkflows(dir: string, cwd = process.cwd()): ValidationReport {
  const root = path.resolve(cwd, dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    return { checked: [], problems: [`${dir}: not a folder`] };
  }
  const single = WORKFLOW_FILE_NAMES.some((f) => existsSync(path.join(root, f)));
  const parent = single ? path.dirname(root) : root;
  const ids = single
    ? [path.basename(root)]
    : readdirSync(root).filter((name) => WORKFLOW_FILE_NAMES.some((f) => existsSync(path.join(root, name, f)))).sort();
  const problems: string[] = [];
  for (const id of ids) {
    try {
      loadWorkflow(parent, id);
    } catch (error) {
      if (error instanceof WorkflowValidationError) {
        for (const p of error.problems) problems.push(formatProblem({ ...p, file: path.relative(cwd, path.join(parent, p.file)) }));
      } else if (error instanceof WorkflowNotFoundError) {
        problems.push(`${path.relative(cwd, path.join(parent, id, 'orchestrator.yaml'))}:1:1: file is missing`);
      } else {
        throw error;
      }
    }
  }
  return { checked: ids, problems };
}
