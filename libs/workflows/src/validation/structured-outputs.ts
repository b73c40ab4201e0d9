// structured_outputs.yaml: the JSON Schema an agent's replies follow; and auto_tool_mode, in
// which that reply goes to the agent's one auto_invoke tool.
import { StructuredOutputEntry } from '../file-schemas.js';
import type { Checked } from '../loading/checked.js';
import { compileSchema } from '../structured-output.js';
import type { AgentDefinition, WorkflowProblem } from '../workflow-definition.js';
import type { AgentNames, FolderContext } from './validation-context.js';

/** Gives each agent named by a valid entry its structured output. */
export function validateStructuredOutputs(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
  agents: AgentDefinition[],
): void {
  for (const { i, value: out } of check.entries('structured_outputs', StructuredOutputEntry, folder.lenient)) {
    const problem = (field: string, message: string) => check.problem(['structured_outputs', i, field], message);
    const agent = agents.find((a) => a.name === out.agent);
    if (names.unknown(out.agent)) {
      problem('agent', names.missing(out.agent));
      continue;
    }
    if (agent?.structured_output) {
      problem('agent', `agent "${out.agent}" already has a structured output`);
      continue;
    }
    const compiled = compileSchema(out.schema);
    if (typeof compiled === 'string') problem('schema', compiled);
    else if (agent)
      agent.structured_output = { name: out.name ?? `${out.agent}_output`, schema: out.schema, check: compiled };
  }
}

/** An agent of the Python runtime's form that requires a structured output its registry gives no model: said where it stands. */
export function checkRequiredOutputs(
  agentsCheck: Checked,
  required: Array<{ name: string; at: Array<string | number> }>,
  agents: AgentDefinition[],
  into: WorkflowProblem[],
): void {
  for (const { name, at } of required) {
    const agent = agents.find((a) => a.name === name);
    if (!agent || agent.structured_output) continue;
    into.push({
      file: agentsCheck.relative,
      field: [...at, 'structured_outputs_required'].join('.'),
      ...agentsCheck.source!.read.locateKey(at, 'structured_outputs_required'),
      message: `has no effect: structured_outputs.yaml's registry gives ${name} no model`,
    });
  }
}

/** auto_tool_mode: the agent's structured output goes to its one auto_invoke tool; an agent that has not both is refused (warned when lenient). */
export function validateAutoToolMode(
  agentsCheck: Checked,
  folder: FolderContext,
  autoAgents: Array<{ name: string; i: number }>,
  agents: AgentDefinition[],
  warnings: WorkflowProblem[],
): void {
  for (const { name, i } of autoAgents) {
    const agent = agents.find((a) => a.name === name)!;
    const candidates = agent.tools.filter((t) => t.auto_invoke);
    const unmet = !agent.structured_output
      ? `agent ${name} has no structured output to pass to a tool: give it one in structured_outputs, or remove auto_tool_mode`
      : candidates.length === 0
        ? `agent ${name} has no tool with auto_invoke: true (a UI_Tool has it unless set false): give it one, or remove auto_tool_mode`
        : candidates.length > 1
          ? `agent ${name} has ${candidates.length} tools with auto_invoke (${candidates.map((t) => t.name).join(', ')}): keep it on one`
          : undefined;
    if (!unmet) agent.auto_tool = candidates[0]!;
    else if (!folder.lenient) agentsCheck.problem(['agents', i, 'auto_tool_mode'], unmet);
    else {
      const field = agentsCheck.source!.toDocument(['agents', i]);
      agentsCheck.note([{ field, key: 'auto_tool_mode', message: `has no effect: ${unmet}` }], warnings);
    }
  }
}
