// Which declared function a tool request names, and its file inside the folder of the workflow
// version the request names (never outside it, links followed): a request for anything else is refused with `tool_not_found`.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { ToolRequest } from '@mozaiks/protocol';
import { TOOL_FILE_EXTENSIONS } from '@mozaiks/workflows';
import type { ToolDefinition, WorkflowDefinition } from '@mozaiks/workflows';
import { languageOf } from './sandbox.js';
import type { ToolLanguage } from './sandbox.js';

export interface ResolvedCall {
  request: ToolRequest;
  tool: ToolDefinition;
  /** The workflow version whose code runs: workers are kept per version. */
  version: string;
  file: string;
  display: string;
  language: ToolLanguage;
  workflowDir: string;
}

/** The declared tool of `workflow` (the version the request names) and its file, or the error the agent sees. */
export function resolveCall(
  workflow: WorkflowDefinition,
  version: string,
  request: ToolRequest,
): ResolvedCall | { ok: false; error: { code: string; message: string } } {
  const display = `${request.workflow_id}/${request.file}`;
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
    version,
    file,
    display,
    language,
    workflowDir,
  };
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
