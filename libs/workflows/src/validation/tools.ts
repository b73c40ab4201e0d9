// tools.yaml: the agents' tools (their schema from the function's signature when not written out)
// and the lifecycle tools the runtime calls at points of the chat.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LifecycleToolEntry, ToolEntry } from '../file-schemas.js';
import type { Checked } from '../loading/checked.js';
import { findInFolder } from '../loading/workflow-files.js';
import { readPythonSignature } from '../python-signature.js';
import { readScriptSignature } from '../script-signature.js';
import type { AgentDefinition, LifecycleToolDefinition, ToolDefinition } from '../workflow-definition.js';
import type { AgentNames, FolderContext } from './validation-context.js';

type Signature = { parameters?: Record<string, unknown>; description?: string; takesContext?: boolean };

/**
 * What a tool function's source says of it: a Python function's signature and docstring (a
 * missing function is a problem), a JavaScript or TypeScript function's declared argument type
 * and doc comment (when the parser finds it; a file may export in ways only running it shows).
 * A script tool whose schema and description are written out is not parsed (nor the parser loaded).
 */
function toolSignature(
  folder: FolderContext,
  file: string,
  name: string,
  problem: (field: string, message: string) => void,
  declared = false,
): Signature | undefined {
  if (!file.endsWith('.py') && declared) return undefined;
  const source = readFileSync(path.join(folder.dir, file), 'utf8');
  if (!file.endsWith('.py')) return readScriptSignature(source, file, name);
  const signature = readPythonSignature(source, name);
  if (!signature) problem('function', `${file} has no top-level function "${name}"`);
  return signature;
}

const notFound = (folder: FolderContext, file: string) =>
  `tool file ${file} not found in ${folder.workflowId}/ or ${folder.workflowId}/tools/`;

/** The valid tools, each added to its agent's. */
export function validateTools(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
  agents: AgentDefinition[],
): ToolDefinition[] {
  const tools: ToolDefinition[] = [];
  for (const { i, value: t } of check.entries('tools', ToolEntry, folder.lenient)) {
    const problem = (field: string, message: string) => check.problem(['tools', i, field], message);
    const file = findInFolder(folder.dir, t.file);
    const unbound = names.unknown(t.agent);
    if (folder.lenient && (!file || unbound)) {
      if (unbound) check.skip(['tools', i, 'agent'], names.missing(t.agent), true);
      else check.skip(['tools', i, 'file'], notFound(folder, t.file), true);
      continue;
    }
    const declared = t.parameters !== undefined && t.description !== undefined;
    const signature = file
      ? toolSignature(folder, file, t.function, problem, declared)
      : (problem('file', notFound(folder, t.file)), undefined);
    const description = t.description ?? signature?.description;
    if (!description) problem('description', 'is required (or give the function a docstring, or a doc comment)');
    if (t.tool_type === 'UI_Tool' && !t.ui)
      problem('tool_type', 'a UI_Tool needs ui: {component, display}: what the client shows');
    const tool: ToolDefinition = {
      name: t.name ?? t.function,
      agent: t.agent,
      file: file ?? t.file,
      function: t.function,
      description: description ?? '',
      tool_type: t.tool_type,
      parameters: t.parameters ??
        signature?.parameters ?? { type: 'object', properties: {}, additionalProperties: true },
      ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
      env: t.env ?? [],
      ...(t.ui ? { ui: t.ui } : {}),
      ...(signature?.takesContext ? { takes_context: true } : {}),
      ...((t.auto_invoke ?? t.tool_type === 'UI_Tool') ? { auto_invoke: true } : {}),
    };
    const agent = agents.find((a) => a.name === t.agent);
    if (unbound) problem('agent', names.missing(t.agent));
    if (agent?.tools.some((other) => other.name === tool.name))
      problem(t.name ? 'name' : 'function', `agent "${t.agent}" already has a tool named "${tool.name}"`);
    agent?.tools.push(tool);
    tools.push(tool);
  }
  return tools;
}

/** Lifecycle tools: called by the runtime at points of the chat, like any tool in the tool-runner. */
export function validateLifecycleTools(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
): LifecycleToolDefinition[] {
  const lifecycle: LifecycleToolDefinition[] = [];
  const { lenient } = folder;
  for (const { i, value: t } of check.entries('lifecycle_tools', LifecycleToolEntry, lenient)) {
    const at = (field: string) => ['lifecycle_tools', i, field];
    if (t.tool_type === 'UI_Tool') {
      const message =
        'a lifecycle tool runs without the user here: only Agent_Tool (show a UI tool from an agent instead)';
      check.skip(at('tool_type'), message, lenient);
      continue;
    }
    const file = findInFolder(folder.dir, t.file);
    if (!file) {
      check.skip(at('file'), notFound(folder, t.file), lenient);
      continue;
    }
    const agent = t.agent ?? undefined;
    if (agent !== undefined && (t.trigger === 'before_chat' || t.trigger === 'after_chat'))
      check.problem(at('agent'), `a ${t.trigger} tool runs once for the chat: leave agent unset`);
    else if (agent !== undefined && names.unknown(agent)) check.problem(at('agent'), names.missing(agent));
    let missing = false;
    const skip = (field: string, message: string) => ((missing = true), check.skip(at(field), message, lenient));
    const signature = toolSignature(folder, file, t.function, skip, true);
    if (missing) continue;
    lifecycle.push({
      trigger: t.trigger,
      ...(agent !== undefined ? { agent } : {}),
      tool: {
        name: t.function,
        agent: agent ?? '',
        file,
        function: t.function,
        description: t.description ?? signature?.description ?? t.function,
        tool_type: 'Agent_Tool',
        parameters: { type: 'object', properties: {} },
        ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
        env: t.env ?? [],
        ...(signature?.takesContext ? { takes_context: true } : {}),
      },
    });
  }
  return lifecycle;
}
