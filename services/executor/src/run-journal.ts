// The engine's journal port for one chat, on the chat's log and the bus: history and events are
// persisted before anyone hears of them, then published live to the chat's subject.
import type { Bus } from '@mozaiks/bus';
import type { ChatMessage, RunJournal, RunStep } from '@mozaiks/engine';
import { priceCalls } from '@mozaiks/llm';
import type { PriceTable } from '@mozaiks/llm';
import { newEventId, usageEventId } from '@mozaiks/protocol';
import type {
  ChatEventEnvelope,
  EventBody,
  LlmCallUsage,
  ServerEvent,
  Subjects,
  Tenant,
  UsageUpdateEvent,
} from '@mozaiks/protocol';
import type { ChatWriter, PendingInput } from '@mozaiks/store';
import type { FairGate } from '@mozaiks/common';

export interface ChatScope {
  tenant: Tenant;
  chatId: string;
  workflowId: string;
  /** The workflow version the run uses, once chosen: its tools run from that version's code. */
  workflowVersion?: string;
  /** Custom claims of the launch token. */
  context: Record<string, unknown>;
  /** W3C trace context of the run, continued on the tool requests it makes. */
  traceparent?: string;
}

/** Stamps an event body with the chat, a fresh id and the time. */
export function stampEvent(chatId: string, body: EventBody): ServerEvent {
  return { ...body, chat_id: chatId, event_id: newEventId(), timestamp: new Date().toISOString() };
}

/** Publishes an event to the chat's live subject, addressed to its owner. */
export async function publishChatEvent(
  bus: Bus,
  subjects: Subjects,
  tenant: Tenant,
  event: ServerEvent,
): Promise<void> {
  const envelope: ChatEventEnvelope = { v: 1, app_id: tenant.app_id, user_id: tenant.user_id, event };
  await bus.publish(subjects.chat(tenant.app_id, event.chat_id), envelope);
}

/**
 * The engine's journal on the chat's log: each step appended through the chat's writer (refused if
 * the lease was taken over), then its events published live. The step that finishes a run carries
 * the run's priced usage event, so the client's `usage_update` and the billing record are one
 * persisted event, written by the chat's one writer.
 */
export class LogRunJournal implements RunJournal {
  /** Every LLM call of the run, including those an earlier executor made before handing it back. */
  private readonly calls: LlmCallUsage[];
  /** The run's usage event as persisted (with its seq), once the run has finished. */
  usageEvent: UsageUpdateEvent | undefined;

  constructor(
    private readonly writer: ChatWriter,
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly scope: ChatScope,
    private readonly runId: string,
    private readonly input: PendingInput,
    private readonly prices: PriceTable,
    earlierCalls: readonly LlmCallUsage[] | undefined,
    /** Commits of every run of this process, taken in turn across apps and users. */
    private readonly commits: FairGate,
  ) {
    this.calls = [...(earlierCalls ?? [])];
  }

  async load(): Promise<ChatMessage[]> {
    return [...this.writer.messages] as ChatMessage[];
  }

  live(event: EventBody): void {
    void publishChatEvent(this.bus, this.subjects, this.scope.tenant, stampEvent(this.scope.chatId, event)).catch(
      () => undefined,
    );
  }

  /** Ends a run that ran nothing (no events, nothing to bill). */
  close(status: 'completed' | 'failed'): Promise<void> {
    return this.append({ finish: status }, false);
  }

  commit(step: RunStep): Promise<void> {
    return this.append(step, true);
  }

  private async append(step: RunStep, bill: boolean): Promise<void> {
    if (step.calls) this.calls.push(...step.calls);
    const { tenant, workflowVersion: version } = this.scope;
    const events = await this.commits.run(tenant.app_id, tenant.user_id, () => this.persist(step, bill, version));
    if (step.finish && bill) this.usageEvent = events.find((e): e is UsageUpdateEvent => e.type === 'usage_update');
    // Live delivery is best effort: a gateway that misses one fills the gap from the log by seq.
    // Published together (in order: each publish is queued when called), so they leave in one write.
    await Promise.all(
      events.map((event) => publishChatEvent(this.bus, this.subjects, tenant, event).catch(() => undefined)),
    );
  }

  /** Appends the step to the chat's log; returns its events with their seqs. */
  private persist(step: RunStep, bill: boolean, version: string | undefined): Promise<ServerEvent[]> {
    const { tenant, chatId, workflowId } = this.scope;
    return this.writer.append({
      ...(step.messages ? { messages: step.messages } : {}),
      ...(step.awaitInput ? { awaitInput: step.awaitInput } : {}),
      ...(step.variables ? { context: step.variables } : {}),
      // The run's first step records its version as the chat's (on a chat's first run, or a move to the latest).
      ...(version && this.writer.chat.workflow_version !== version ? { workflowVersion: version } : {}),
      events: (step.events ?? []).map((e) =>
        stampEvent(chatId, version && e.type === 'workflow_complete' ? { ...e, workflow_version: version } : e),
      ),
      run: {
        run_id: this.runId,
        input_seq: this.input.input_seq,
        workflow_id: workflowId,
        ...(step.calls ? { calls: step.calls } : {}),
        ...(step.finish ? { finish: step.finish } : {}),
        ...(step.finish && bill ? { usage: this.usage(tenant, chatId) } : {}),
      },
    });
  }

  private usage(tenant: Tenant, chatId: string): Omit<UsageUpdateEvent, 'seq'> {
    const { models, cost_usd, estimated } = priceCalls(this.calls, this.prices);
    const tokens = {
      prompt_tokens: models.reduce((s, m) => s + m.prompt_tokens, 0),
      completion_tokens: models.reduce((s, m) => s + m.completion_tokens, 0),
      total_tokens: models.reduce((s, m) => s + m.total_tokens, 0),
    };
    return {
      type: 'usage_update',
      event_id: usageEventId(this.runId),
      chat_id: chatId,
      user_id: tenant.user_id,
      app_id: tenant.app_id,
      workflow_id: this.scope.workflowId,
      ...(this.scope.workflowVersion ? { workflow_version: this.scope.workflowVersion } : {}),
      run_id: this.runId,
      tokens,
      total_tokens: tokens.total_tokens,
      cost_usd,
      models,
      ...(this.input.max_tokens === undefined ? {} : { max_tokens: this.input.max_tokens }),
      ...(estimated ? { estimated: true } : {}),
      timestamp: new Date().toISOString(),
    };
  }
}

/** Asks the tool-runner, over the bus, to run a tool; an unreachable runner is a tool error. */
