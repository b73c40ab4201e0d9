// Orchestration patterns: who speaks first, and where the run goes after each turn.
import { evaluateExpression } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { ChatMessage, LlmClient } from './ports.js';
import type { LlmCallUsage } from '@mozaiks/protocol';

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

/** Agents in speaking order, starting with the initial agent. */
function speakingOrder(workflow: WorkflowDefinition): string[] {
  const names = workflow.agents.map((a) => a.name);
  const first = names.indexOf(workflow.initial_agent);
  return [...names.slice(first), ...names.slice(0, first)];
}

/**
 * DefaultPattern. Without handoff rules, each agent speaks once, in order. With them, AG2's
 * order: the agent's own choice (an `llm` condition it met), then its `expression` conditions in
 * file order, then its `after_work` rule, then the workflow's `after_work`, else the run ends.
 */
export class DefaultPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(private readonly workflow: WorkflowDefinition) {
    this.order = speakingOrder(workflow);
  }

  first(): string {
    return this.order[0]!;
  }

  next(turn: TurnResult): string | null {
    const rules = this.workflow.handoffs;
    if (rules.length === 0) return this.order[this.order.indexOf(turn.agent) + 1] ?? null;
    if (turn.handoff) return turn.handoff;
    const mine = rules.filter((r) => r.source_agent === turn.agent);
    for (const rule of mine) {
      if (rule.kind === 'expression' && evaluateExpression(rule.expression, turn.variables)) return rule.target;
    }
    return mine.find((r) => r.kind === 'after_work')?.target ?? this.workflow.after_work ?? 'terminate';
  }
}

/** RoundRobinPattern: the agents speak in turn, again and again, until max_turns or the marker. */
export class RoundRobinPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(workflow: WorkflowDefinition) {
    this.order = speakingOrder(workflow);
  }

  first(): string {
    return this.order[0]!;
  }

  next(turn: TurnResult): string {
    return this.order[(this.order.indexOf(turn.agent) + 1) % this.order.length]!;
  }
}

/** RandomPattern: any agent but the one that just spoke, until max_turns or the marker. */
export class RandomPattern implements OrchestrationPattern {
  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly random: () => number = Math.random,
  ) {}

  first(): string {
    return this.workflow.initial_agent;
  }

  next(turn: TurnResult): string {
    const others = this.workflow.agents.map((a) => a.name).filter((n) => n !== turn.agent);
    if (others.length === 0) return turn.agent;
    return others[Math.floor(this.random() * others.length)]!;
  }
}

/** What AutoPattern needs to ask a model who speaks next. */
export interface SpeakerSelection {
  llm: LlmClient;
  /** Receives the usage of each selection call. */
  record: (usage: LlmCallUsage) => void;
}

/** Name under which speaker-selection calls are reported in usage. */
export const SPEAKER_SELECTOR = 'speaker_selector';

/**
 * AutoPattern: after each turn a model reads the conversation and the agents' names and roles and
 * names the next speaker (or TERMINATE). An answer naming no agent falls back to the next in order.
 */
export class AutoPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly selection: SpeakerSelection,
  ) {
    this.order = speakingOrder(workflow);
  }

  first(): string {
    return this.order[0]!;
  }

  async next(turn: TurnResult): Promise<string | null> {
    const roster = this.workflow.agents
      .map((a) => `- ${a.name}: ${a.role ?? a.system_message.split('\n')[0]}`)
      .join('\n');
    const transcript = (turn.history ?? [])
      .flatMap((m) =>
        m.role === 'user'
          ? [`user: ${m.content}`]
          : m.role === 'assistant' && m.content
            ? [`${m.agent}: ${m.content}`]
            : [],
      )
      .slice(-30)
      .join('\n');
    const reply = await this.selection.llm.complete({
      agent: SPEAKER_SELECTOR,
      temperature: 0,
      messages: [
        {
          role: 'system',
          content: `You choose who speaks next in a conversation between a user and these agents:\n${roster}\n\nAnswer with the name of the agent who should speak next, and nothing else. Answer TERMINATE if the user's request is fully handled.`,
        },
        { role: 'user', content: `Conversation so far:\n${transcript}\n\n${turn.agent} just spoke. Who speaks next?` },
      ],
      tools: [],
    });
    this.selection.record(reply.usage);
    const answer = (reply.content ?? '').trim();
    if (/^terminate\b/i.test(answer)) return 'terminate';
    const named = this.workflow.agents.map((a) => a.name).filter((name) => new RegExp(`\\b${name}\\b`).test(answer));
    return named.length === 1 ? named[0]! : this.order[(this.order.indexOf(turn.agent) + 1) % this.order.length]!;
  }
}

/** ManualPattern: the initial agent speaks, then after every turn the user picks who speaks next. */
export class ManualPattern implements OrchestrationPattern {
  constructor(private readonly workflow: WorkflowDefinition) {}

  first(): string {
    return this.workflow.initial_agent;
  }

  next(): string {
    return 'user';
  }
}

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
