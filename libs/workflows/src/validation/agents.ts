// agents.yaml: each agent's name, prompt, model settings and optional custom class.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AGENT_CLASS_EXTENSIONS, AgentEntry } from '../file-schemas.js';
import type { Checked } from '../loading/checked.js';
import type { AgentDefinition } from '../workflow-definition.js';
import type { FolderContext } from './validation-context.js';

/** The valid agents (their tools come later), and those in auto_tool_mode with their index. */
export function validateAgents(
  check: Checked,
  folder: FolderContext,
): { agents: AgentDefinition[]; autoAgents: Array<{ name: string; i: number }> } {
  const agents: AgentDefinition[] = [];
  const autoAgents: Array<{ name: string; i: number }> = [];
  const entries = check.entries('agents', AgentEntry, folder.lenient, { min: 'a workflow needs at least one agent' });
  for (const { i, value: a } of entries) {
    if (agents.some((other) => other.name === a.name))
      check.problem(['agents', i, 'name'], `duplicate agent name "${a.name}"`);
    const agentClass = a.class
      ? classOf(a.class, folder, (message) => check.problem(['agents', i, 'class'], message))
      : undefined;
    agents.push({
      name: a.name,
      ...(agentClass ? { class: agentClass } : {}),
      ...(a.role ? { role: a.role } : {}),
      system_message: a.system_message,
      llm_config: a.llm_config ?? {},
      tools: [],
      ...(a.max_consecutive_auto_reply ? { max_consecutive_auto_reply: a.max_consecutive_auto_reply } : {}),
    });
    if (a.auto_tool_mode) autoAgents.push({ name: a.name, i });
  }
  return { agents, autoAgents };
}

/** `module.Export` as the file of the folder that holds it; a problem when none does. */
function classOf(
  written: string,
  folder: FolderContext,
  problem: (message: string) => void,
): AgentDefinition['class'] | undefined {
  const dot = written.lastIndexOf('.');
  const module = written.slice(0, dot);
  const candidates = AGENT_CLASS_EXTENSIONS.map((ext) => `${module}${ext}`);
  const file = candidates.find((f) => existsSync(path.join(folder.dir, f)));
  if (file) return { file, export: written.slice(dot + 1) };
  problem(`no file ${candidates.join(', ')} in ${folder.workflowId}/`);
  return undefined;
}
