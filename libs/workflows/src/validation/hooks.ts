// hooks.yaml (the Python runtime's form): functions run in the tool-runner around an agent's
// replies. Hook types that do not run here are reported and skipped (refused with --strict).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HOOK_TYPES, HookEntry } from '../file-schemas.js';
import { Checked } from '../loading/checked.js';
import { readDocument } from '../loading/read-document.js';
import { findInFolder } from '../loading/workflow-files.js';
import { readPythonSignature } from '../python-signature.js';
import type { HookDefinition, WorkflowProblem } from '../workflow-definition.js';
import type { AgentNames, FolderContext } from './validation-context.js';

/**
 * hooks.yaml: each hook's function, run in the tool-runner around its agent's replies. Hook types
 * that do not run here are reported and skipped (refused with --strict).
 */
export function readHooks(
  folder: FolderContext,
  names: AgentNames,
  warnings: WorkflowProblem[],
  problems: WorkflowProblem[],
): HookDefinition[] {
  const { dir, workflowId, lenient } = folder;
  const relative = path.join(workflowId, 'hooks.yaml');
  const read = readDocument(path.dirname(dir), relative);
  if (!read) return [];
  if (read.problems.length) {
    problems.push(...read.problems);
    return [];
  }
  const hooks: HookDefinition[] = [];
  const check = new Checked({ relative, read, value: read.value ?? { hooks: [] }, toDocument: (f) => f });
  check.topLevel(['hooks'], lenient);
  for (const { i, value: h } of check.entries('hooks', z.unknown(), lenient)) {
    const type = (h as { hook_type?: unknown })?.hook_type;
    if (typeof type === 'string' && !(HOOK_TYPES as readonly string[]).includes(type)) {
      const message = `${type} hooks do not run here, only ${HOOK_TYPES.join(' and ')}: this one is skipped; change the agent's prompt in an update_agent_state hook instead`;
      (lenient ? warnings : problems).push({
        file: relative,
        field: `hooks.${i}.hook_type`,
        ...read.locate(['hooks', i, 'hook_type']),
        message,
      });
      continue;
    }
    const hook = check.parse(HookEntry, h, ['hooks', i], lenient);
    if (!hook) continue;
    const problem = (field: string, message: string) => check.problem(['hooks', i, field], message);
    if (hook.hook_agent !== 'all' && !names.has(hook.hook_agent))
      problem('hook_agent', `no agent named "${hook.hook_agent}" (or use all)`);
    // A hook that cannot be imported is logged and skipped by the Python runtime: here too, unless strict.
    const file = findInFolder(dir, hook.filename);
    if (!file) {
      check.skip(
        ['hooks', i, 'filename'],
        `hook file ${hook.filename} not found in ${workflowId}/ or ${workflowId}/tools/`,
        lenient,
      );
      continue;
    }
    const signature = readPythonSignature(readFileSync(path.join(dir, file), 'utf8'), hook.function);
    if (!signature) {
      check.skip(['hooks', i, 'function'], `${file} has no top-level function "${hook.function}"`, lenient);
      continue;
    }
    hooks.push({
      type: hook.hook_type,
      agent: hook.hook_agent,
      tool: {
        name: hook.function,
        agent: hook.hook_agent,
        file,
        function: hook.function,
        description: signature.description ?? hook.function,
        tool_type: 'Agent_Tool',
        parameters: { type: 'object', properties: {} },
        env: [],
      },
    });
  }
  problems.push(...check.problems);
  warnings.push(...check.warnings);
  return hooks;
}
