// What an orchestration pattern is: who speaks first, and where the run goes after each turn;
// and the one place a workflow's `orchestration_pattern` becomes a pattern.
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { ChatMessage } from '../ports.js';
import { AutoPattern } from './auto-pattern.js';
import type { SpeakerSelection } from './auto-pattern.js';
import { DefaultPattern, ManualPattern, RandomPattern, RoundRobinPattern } from './ordered-patterns.js';

/** The end of a turn, as a pattern sees it. */
export interface TurnResult {
  agent: string;
  /** Target of a handoff the agent chose (an `llm` condition it met). */
  handoff?: string;
  /** The chat's context variables after the turn. */
  variables: Readonly<Record<string, unknown>>;
  /** The chat so far, for patterns that read it. */
  history?: readonly ChatMessage[];
}

export interface OrchestrationPattern {
  /** The agent that speaks first. */
  first(): string;
  /** After a turn: an agent's name, `user`, `terminate`, or null when every agent has had its say. */
  next(turn: TurnResult): string | null | Promise<string | null>;
}

/** The workflow's pattern; AutoPattern asks `selection`'s model who speaks next. */
export function createPattern(workflow: WorkflowDefinition, selection?: SpeakerSelection): OrchestrationPattern {
  switch (workflow.orchestration_pattern) {
    case 'ManualPattern':
      return new ManualPattern(workflow);
    case 'AutoPattern':
      if (!selection) throw new Error('AutoPattern needs an LLM to choose speakers');
      return new AutoPattern(workflow, selection);
    case 'DefaultPattern':
      return new DefaultPattern(workflow);
    case 'RoundRobinPattern':
      return new RoundRobinPattern(workflow);
    case 'RandomPattern':
      return new RandomPattern(workflow);
  }
}
