// DefaultPattern: starting with the initial agent, each agent speaks once, in the order of
// agents.yaml, and the run ends when every agent has had its say.
import type { WorkflowDefinition } from '@mozaiks/workflows';

/** Chooses who speaks next in a run, or `null` when the run is done. */
export interface OrchestrationPattern {
  nextSpeaker(spoken: readonly string[]): string | null;
}

export class DefaultPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(workflow: WorkflowDefinition) {
    const names = workflow.agents.map((a) => a.name);
    const first = names.indexOf(workflow.initial_agent);
    this.order = [...names.slice(first), ...names.slice(0, first)];
  }

  nextSpeaker(spoken: readonly string[]): string | null {
    return this.order[spoken.length] ?? null;
  }
}

export function createPattern(workflow: WorkflowDefinition): OrchestrationPattern {
  switch (workflow.orchestration_pattern) {
    case 'DefaultPattern':
      return new DefaultPattern(workflow);
  }
}
