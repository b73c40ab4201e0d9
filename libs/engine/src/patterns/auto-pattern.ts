// AutoPattern: a model reads the conversation and names the next speaker.
import type { LlmCallUsage } from '@mozaiks/protocol';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { LlmClient } from '../ports.js';
import type { OrchestrationPattern, TurnResult } from './pattern.js';
import { speakingOrder } from './speaking-order.js';

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
