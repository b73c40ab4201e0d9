// Workflows by id, loaded once and loaded again when one of their files changes, so a run does not
// parse YAML and an edited workflow takes effect without a restart. The files are looked at (a
// stat of each) at most once per `recheckMs`, not on every run.
import { statSync } from 'node:fs';
import path from 'node:path';
import { loadWorkflow } from './loading/load-workflow.js';
import { WORKFLOW_FILE_NAMES } from './loading/workflow-files.js';
import type { WorkflowDefinition } from './workflow-definition.js';

export interface WorkflowRegistryOptions {
  /** How long a loaded workflow is served before its files are looked at again. @default 1000 */
  recheckMs?: number;
}

export class WorkflowRegistry {
  private readonly cache = new Map<string, { stamp: string; definition: WorkflowDefinition; checkedAt: number }>();
  private readonly recheckMs: number;

  constructor(
    private readonly workflowsDir: string,
    options: WorkflowRegistryOptions = {},
  ) {
    this.recheckMs = options.recheckMs ?? 1000;
  }

  /**
   * The workflow `id`, as its files are now.
   * @throws WorkflowNotFoundError, WorkflowValidationError as `loadWorkflow` does.
   */
  get(id: string): WorkflowDefinition {
    const cached = this.cache.get(id);
    const now = performance.now();
    if (cached && now - cached.checkedAt < this.recheckMs) return cached.definition;
    // Python tool files are part of the definition too: their signatures are the tools' parameters.
    const stamp = this.stamp(id, cached?.definition);
    if (cached && stamp !== undefined && cached.stamp === stamp) {
      cached.checkedAt = now;
      return cached.definition;
    }
    const definition = loadWorkflow(this.workflowsDir, id);
    if (stamp !== undefined) this.cache.set(id, { stamp: this.stamp(id, definition)!, definition, checkedAt: now });
    return definition;
  }

  /** Size and modification time of each file; undefined when the id cannot name a folder. */
  private stamp(id: string, definition?: WorkflowDefinition): string | undefined {
    if (id.includes('/') || id.includes('\\') || id.startsWith('.')) return undefined;
    const sources = definition
      ? [...new Set(definition.tools.filter((t) => t.file.endsWith('.py')).map((t) => t.file))]
      : [];
    return [...WORKFLOW_FILE_NAMES, ...sources]
      .map((f) => {
        try {
          const s = statSync(path.join(this.workflowsDir, id, f));
          return `${s.size}:${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  }
}
