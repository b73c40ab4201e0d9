// context_variables.yaml: the chat's variables (type, default, triggers) and which of them each
// agent sees.
import { z } from 'zod';
import { ContextVariableEntry } from '../file-schemas.js';
import type { Checked } from '../loading/checked.js';
import { quote } from '../loading/problems.js';
import type { Path } from '../loading/read-document.js';
import { matchesVariableType } from '../workflow-definition.js';
import type { AgentDefinition, ContextVariableDefinition, ToolDefinition } from '../workflow-definition.js';
import type { AgentNames, FolderContext } from './validation-context.js';

/** The valid variables; `namedVariables` are the names of every entry as written (references count them all). */
export function validateContextVariables(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
  agents: AgentDefinition[],
  tools: ToolDefinition[],
  namedVariables: ReadonlySet<string>,
): ContextVariableDefinition[] {
  const variables: ContextVariableDefinition[] = [];
  for (const { i, value: v } of check.entries('context_variables', ContextVariableEntry, folder.lenient)) {
    const problem = (field: Path, message: string) => check.problem(['context_variables', i, ...field], message);
    if (variables.some((other) => other.name === v.name)) problem(['name'], `duplicate variable "${v.name}"`);
    if (v.default !== undefined && !matchesVariableType(v.default, v.type))
      problem(['default'], `must be of type ${v.type} (got ${quote(v.default)})`);
    v.triggers?.forEach((t, j) => {
      if (t.type === 'agent_text' && names.unknown(t.agent)) problem(['triggers', j, 'agent'], names.missing(t.agent));
      if (t.type === 'agent_text' && t.match.regex !== undefined) {
        try {
          new RegExp(t.match.regex);
        } catch (error) {
          problem(['triggers', j, 'match', 'regex'], `not a regular expression: ${(error as Error).message}`);
        }
      }
      if (t.type === 'agent_text' && v.type !== 'boolean')
        problem(['triggers', j], 'an agent_text trigger sets the variable to true: its type must be boolean');
      if (t.type === 'ui_response' && !tools.some((tool) => tool.name === t.tool))
        problem(['triggers', j, 'tool'], `no tool named "${t.tool}" in tools.yaml`);
    });
    variables.push({
      name: v.name,
      type: v.type,
      default: v.default ?? null,
      ...(v.description ? { description: v.description } : {}),
      ...(v.env_var ? { env_var: v.env_var } : {}),
      triggers: v.triggers ?? [],
    });
  }
  exposeVariables(check, folder, names, agents, namedVariables);
  return variables;
}

/** Which variables each agent sees (`agents:` of the file); every agent sees none unless listed, once the list exists. */
function exposeVariables(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
  agents: AgentDefinition[],
  namedVariables: ReadonlySet<string>,
): void {
  if (!check.source) return;
  const written = (check.source.value as { agents?: unknown } | undefined)?.agents;
  const exposure = check.parse(
    z.record(z.string(), z.array(z.string())).optional(),
    written,
    ['agents'],
    folder.lenient,
  );
  for (const [agentName, listed] of Object.entries(exposure ?? {})) {
    if (names.unknown(agentName)) check.skip(['agents', agentName], names.missing(agentName), folder.lenient);
    listed.forEach((name, j) => {
      if (!namedVariables.has(name))
        check.skip(['agents', agentName, j], `no context variable named "${name}"`, folder.lenient);
    });
    const agent = agents.find((a) => a.name === agentName);
    if (agent) agent.variables = listed.filter((n) => namedVariables.has(n));
  }
  if (exposure) for (const agent of agents) agent.variables ??= [];
}
