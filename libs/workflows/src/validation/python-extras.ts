// The Python runtime's files that configure its frontend and packs: read and reported as having
// no effect here, never silently ignored.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readDocument } from '../loading/read-document.js';
import type { WorkflowProblem } from '../workflow-definition.js';
import type { FolderContext } from './validation-context.js';

/** ui_config.yaml and _pack/: what each holds, and that it has no effect here. */
export function reportExtras(
  folder: FolderContext,
  extras: readonly string[],
  hasPack: boolean,
  warnings: WorkflowProblem[],
  problems: WorkflowProblem[],
): void {
  const { dir, workflowId } = folder;
  const root = path.dirname(dir);
  for (const name of extras) {
    const relative = path.join(workflowId, name);
    const read = readDocument(root, relative);
    if (!read) continue;
    if (read.problems.length) {
      problems.push(...read.problems);
      continue;
    }
    const doc = (read.value ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(doc))
      warnings.push({
        file: relative,
        field: key,
        ...read.locateKey([], key),
        message: "is for the Python runtime's frontend and has no effect here",
      });
  }
  if (hasPack) {
    const files = readdirSync(path.join(dir, '_pack')).sort();
    warnings.push({
      file: path.join(workflowId, '_pack'),
      field: '',
      line: 1,
      column: 1,
      message: `workflow packs are not run here (${files.join(', ') || 'empty'}): each workflow runs on its own, started by its id`,
    });
  }
}
