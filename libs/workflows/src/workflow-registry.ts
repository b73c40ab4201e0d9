// Workflows by id, loaded once and loaded again when one of their files changes, so a run does not
// parse YAML and an edited workflow takes effect on its next run without a restart.
import { statSync } from 'node:fs';
import path from 'node:path';
import { WORKFLOW_FILE_NAMES, loadWorkflow } from './workflow-loader.js';
import type { WorkflowDefinition } from './workflow-definition.js';


export class WorkflowRegistry {
  private readonly cache = new Map<string, { stamp: string; definition: WorkflowDefinition }>();

  constructor(private readonly workflowsDir: string) {}

  /**
   * The workflow `id`, as its files are now.
   * @throws WorkflowNotFoundError, WorkflowValidationError as `loadWorkflow` does.
   */
  get(id: string): WorkflowDefinition {
    const stamp = this.stamp(id);
    const cached = this.cache.get(id);
    if (cached && stamp !== undefined && cached.stamp === stamp) return cached.definition;
    const definition = loadWorkflow(this.workflowsDir, id);
    if (stamp !== undefined) this.cache.set(id, { stamp, definition });
    return definition;
  }

  /** Size and modification time of each file; undefined when the id cannot name a folder. */
  private stamp(id: string): string | undefined {
    if (id.includes('/') || id.includes('\\') || id.startsWith('.')) return undefined;
    return WORKFLOW_FILE_NAMES.map((f) => {
      try {
        const s = statSync(path.join(this.workflowsDir, id, f));
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return '-';
      }
    }).join('|');
  }
}
