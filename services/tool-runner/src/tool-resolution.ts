// Which declared function a tool request names, and its file inside the workflow's folder (never
// outside it, links followed): a request for anything else is refused with `tool_not_found`.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ToolRequest } from '@mozaiks/protocol';
import { TOOL_FILE_EXTENSIONS } from '@mozaiks/workflows';
import type { ToolDefinition, WorkflowDefinition, WorkflowRegistry } from '@mozaiks/workflows';
import { languageOf } from './sandbox.js';
import type { ToolLanguage } from './sandbox.js';

export interface ResolvedCall {
  request: ToolRequest;
  tool: ToolDefinition;
  /** Every tool file of the workflow: a change to any starts new workers. */
  toolFiles: string[];
  file: string;
  display: string;
  language: ToolLanguage;
  workflowDir: string;
}

/** The declared tool and its file, or the error the agent sees when there is none. */
export function resolveCall(
  registry: WorkflowRegistry,
  request: ToolRequest,
): ResolvedCall | { ok: false; error: { code: string; message: string } } {
  const display = `${request.workflow_id}/${request.file}`;
  let workflow: WorkflowDefinition;
  try {
    workflow = registry.get(request.workflow_id);
  } catch (error) {
    return failure(
      'tool_not_found',
      `workflow ${request.workflow_id} could not be loaded by the tool-runner: ${(error instanceof Error
        ? error.message
        : String(error)
      )
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join('; ')}`,
    );
  }
  // Hooks and lifecycle tools are the workflow's functions too, declared in hooks.yaml and tools.yaml.
  const declared = request.hook
    ? (workflow.hooks ?? []).filter((h) => h.type === request.hook).map((h) => h.tool)
    : [...workflow.tools, ...(workflow.lifecycle_tools ?? []).map((l) => l.tool)];
  const tool = declared.find((t) => t.file === request.file && t.function === request.function);
  if (!tool)
    return failure(
      'tool_not_found',
      `${display} ${request.function} is not ${request.hook ? `a ${request.hook} hook declared in hooks.yaml` : 'a tool declared in tools.yaml'}`,
    );
  const workflowDir = realPath(workflow.dir);
  const file = workflowDir && insideRealPath(workflowDir, request.file);
  if (!workflowDir || !file) return failure('tool_not_found', `tool file ${display} not found in the workflow folder`);
  const language = languageOf(file);
  if (!language) return failure('tool_not_found', `${display} is not a ${TOOL_FILE_EXTENSIONS.join(', ')} file`);
  return {
    request,
    tool,
    toolFiles: [
      ...new Set(
        [
          ...workflow.tools,
          ...(workflow.hooks ?? []).map((h) => h.tool),
          ...(workflow.lifecycle_tools ?? []).map((l) => l.tool),
        ].map((t) => t.file),
      ),
    ].sort(),
    file,
    display,
    language,
    workflowDir,
  };
}

/** Size and modification time of a workflow's tool files. */
export function codeVersion(workflowDir: string, files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(path.join(workflowDir, f));
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

function realPath(dir: string): string | undefined {
  try {
    return realpathSync(dir);
  } catch {
    return undefined;
  }
}

/** The real path of `file` if it lies inside `root`, following links. */
function insideRealPath(root: string, file: string): string | undefined {
  try {
    const full = realpathSync(path.join(root, file));
    return full.startsWith(root + path.sep) ? full : undefined;
  } catch {
    return undefined;
  }
}

export function failure(code: string, message: string): { ok: false; error: { code: string; message: string } } {
  return { ok: false, error: { code, message } };
}
