// The agents' speaking order, shared by the patterns that go round.
import type { WorkflowDefinition } from '@mozaiks/workflows';

/** Agents in speaking order, starting with the initial agent. */
export function speakingOrder(workflow: WorkflowDefinition): string[] {
  const names = workflow.agents.map((a) => a.name);
  const first = names.indexOf(workflow.initial_agent);
  return [...names.slice(first), ...names.slice(0, first)];
}
