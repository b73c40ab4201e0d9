// `mozaiks validate [dir] [--strict]`: checks one workflow folder, or every workflow folder inside
// `dir`, and reports each problem as `file:line:column: field: message`, then each warning (what
// loads but has no effect here) as `file:line:column: warning: field: message`. With a store,
// it also warns of chats the folder as it is would strand under `version_policy: latest`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  WorkflowNotFoundError,
  WorkflowValidationError,
  formatProblem,
  isWorkflowFolder,
  loadWorkflow,
} from '@mozaiks/workflows';
import type { WorkflowDefinition, WorkflowProblem } from '@mozaiks/workflows';
import { readWorkflowFiles, workflowVersion } from '@mozaiks/workflows';
import type { WorkflowVersionStore } from '@mozaiks/store';

export interface ValidationReport {
  /** Workflow ids checked. */
  checked: string[];
  /** Problems, formatted, with paths relative to the current folder. */
  problems: string[];
  /** Warnings, formatted the same way (with `warning: ` before the field). */
  warnings: string[];
  /** The workflows that loaded. */
  loaded: WorkflowDefinition[];
}

export interface ValidateOptions {
  /** Warnings are problems. */
  strict?: boolean;
}

/** Checks `dir`: a workflow folder itself, or a folder of workflow folders. */
export function validateWorkflows(dir: string, cwd = process.cwd(), options: ValidateOptions = {}): ValidationReport {
  const root = path.resolve(cwd, dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    return { checked: [], problems: [`${dir}: not a folder`], warnings: [], loaded: [] };
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
  const loaded: WorkflowDefinition[] = [];
  const place = (p: WorkflowProblem) => ({ ...p, file: path.relative(cwd, path.join(parent, p.file)) });
  const warn = (p: WorkflowProblem) =>
    warnings.push(formatProblem({ ...place(p), field: p.field ? `warning: ${p.field}` : 'warning' }));
  for (const id of ids) {
    try {
      const definition = loadWorkflow(parent, id, options);
      definition.warnings?.forEach(warn);
      loaded.push(definition);
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
  return { checked: ids, problems, warnings, loaded };
}

/**
 * Warnings for chats that wait on an agent (an input request, a UI tool call) which the folder's
 * version removes, of workflows with `version_policy: latest`: their answers would end with
 * `workflow_changed`. Pinned workflows strand nobody: their chats keep their versions.
 */
export async function strandedChats(
  loaded: readonly WorkflowDefinition[],
  store: WorkflowVersionStore,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const workflow of loaded.filter((w) => w.version_policy === 'latest')) {
    const version = workflowVersion(readWorkflowFiles(workflow.dir));
    const agents = new Set(workflow.agents.map((a) => a.name));
    const stranded = (await store.waitingChats(workflow.id)).filter(
      (w) => w.workflow_version !== version && !agents.has(w.awaiting.agent),
    );
    const byAgent = new Map<string, string[]>();
    for (const w of stranded) byAgent.set(w.awaiting.agent, [...(byAgent.get(w.awaiting.agent) ?? []), w.chat.chat_id]);
    for (const [agent, chats] of byAgent) {
      const shown = chats.slice(0, 5).join(', ') + (chats.length > 5 ? `, and ${chats.length - 5} more` : '');
      warnings.push(
        `${workflow.id}: warning: version_policy latest: ${chats.length} chat(s) wait for ${agent}, which version ${version} removes; their answers will end with workflow_changed (${shown})`,
      );
    }
  }
  return warnings;
}
