// The engine's ports for one chat, on the chat's log and the bus: history and events are persisted
// before anyone hears of them, then published live to the chat's subject.
import { randomUUID } from 'node:crypto';
import { BusError } from '@mozaiks/bus';
import type { Bus } from '@mozaiks/bus';
import type { ChatMessage, RunJournal, RunStep, ToolInvocation, ToolInvoker, ToolOutcome } from '@mozaiks/engine';
import { priceCalls } from '@mozaiks/llm';
import type { PriceTable } from '@mozaiks/llm';
import { usageEventId } from '@mozaiks/protocol';
import type {
  ChatEventEnvelope,
  EventBody,
  LlmCallUsage,
  ServerEvent,
  Subjects,
  Tenant,
  ToolReply,
  ToolRequest,
  UsageUpdateEvent,
} from '@mozaiks/protocol';
import type { ChatWriter, PendingInput } from '@mozaiks/store';
import { childTraceparent } from '@mozaiks/telemetry';

export interface ChatScope {
  tenant: Tenant;
  chatId: string;
  workflowId: string;
  /** Custom claims of the launch token. */
  context: Record<string, unknown>;
  /** W3C trace context of the run, continued on the tool requests it makes. */
  traceparent?: string;
}

export function newEventId(): string {
  return `evt_${randomUUID().replace(/-/g, '')}`;
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
    earlierCalls: readonly LlmCallUsage[] = [],
  ) {
    this.calls = [...earlierCalls];
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
    const { tenant, chatId, workflowId } = this.scope;
    const events = await this.writer.append({
      ...(step.messages ? { messages: step.messages } : {}),
      ...(step.awaitInput ? { awaitInput: step.awaitInput } : {}),
      ...(step.variables ? { context: step.variables } : {}),
      events: (step.events ?? []).map((e) => stampEvent(chatId, e)),
      run: {
        run_id: this.runId,
        input_seq: this.input.input_seq,
        workflow_id: workflowId,
        ...(step.calls ? { calls: step.calls } : {}),
        ...(step.finish ? { finish: step.finish } : {}),
        ...(step.finish && bill ? { usage: this.usage(tenant, chatId) } : {}),
      },
    });
    if (step.finish && bill) this.usageEvent = events.find((e): e is UsageUpdateEvent => e.type === 'usage_update');
    // Live delivery is best effort: a gateway that misses one fills the gap from the log by seq.
    // Published together (in order: each publish is queued when called), so they leave in one write.
    await Promise.all(
      events.map((event) => publishChatEvent(this.bus, this.subjects, tenant, event).catch(() => undefined)),
    );
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
/** How soon a tool request that found no tool-runner is sent again. */
const NO_RESPONDER_RETRY_MS = 250;

export class BusToolInvoker implements ToolInvoker {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly scope: ChatScope,
    private readonly runId: string,
    private readonly defaultTimeoutMs: number,
  ) {}

  async invoke({ tool, args, tool_call_id, variables, hook }: ToolInvocation): Promise<ToolOutcome> {
    const timeoutMs = tool.timeout_seconds ? tool.timeout_seconds * 1000 : this.defaultTimeoutMs;
    const request: ToolRequest = {
      v: 1,
      app_id: this.scope.tenant.app_id,
      user_id: this.scope.tenant.user_id,
      chat_id: this.scope.chatId,
      workflow_id: this.scope.workflowId,
      file: tool.file,
      function: tool.function,
      args,
      context: this.scope.context,
      // The ids a Python tool reads from its context_variables, under the declared variables.
      ...(variables
        ? {
            variables: {
              chat_id: this.scope.chatId,
              app_id: this.scope.tenant.app_id,
              user_id: this.scope.tenant.user_id,
              workflow_name: this.scope.workflowId,
              ...variables,
            },
          }
        : {}),
      timeout_ms: timeoutMs,
      call_id: `${this.runId}:${tool_call_id}`,
      ...(hook ? { hook } : {}),
    };
    const started = performance.now();
    // The runner enforces the timeout, after letting the call wait as long again for a free
    // slot; the extra second lets its answer arrive.
    const deadline = Date.now() + 2 * timeoutMs + 1000;
    try {
      const reply = await this.requestSurvivingReconnects(request, deadline);
      return reply.ok
        ? {
            ok: true,
            result: reply.result,
            duration_ms: reply.duration_ms,
            ...(reply.variables ? { variables: reply.variables } : {}),
          }
        : { ok: false, error: reply.error, duration_ms: reply.duration_ms };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        error: { code: 'tool_unavailable', message: `tool ${tool.name} could not be run: ${message}` },
        duration_ms: performance.now() - started,
      };
    }
  }

  /**
   * Sends the request and waits for its reply; when the bus reconnects meanwhile (the reply may
   * have been lost with the connection) the request is sent again with the same call id, and the
   * tool-runner answers with the first call's result rather than running the tool again. A request
   * that finds no tool-runner (one not back on NATS yet) is sent again soon, while the earlier ones
   * stay in the race.
   */
  private async requestSurvivingReconnects(request: ToolRequest, deadline: number): Promise<ToolReply> {
    const subject = this.subjects.tool(request.app_id, request.workflow_id);
    const headers = { traceparent: childTraceparent(this.scope.traceparent, `publish ${this.subjects.allTools}`) };
    // Every request sent for the call stays in the race: whichever reply comes first is the call's.
    const answers: Array<Promise<ToolReply>> = [];
    for (;;) {
      let stop: () => void = () => undefined;
      const reconnected = new Promise<'again'>((resolve) => (stop = this.bus.onReconnect(() => resolve('again'))));
      const sent = this.bus.request<ToolReply>(subject, request, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        headers,
      });
      answers.push(sent);
      const answered = new Promise<ToolReply>((resolve) => {
        for (const a of answers) void a.then(resolve, () => undefined);
      });
      // The newest request's failure decides: refused for want of a responder, it is sent again
      // soon; any other failure (its timeout is the call's deadline) is the call's.
      const failed = sent.then(
        () => new Promise<never>(() => undefined),
        async (error: unknown) => {
          void answers.splice(answers.indexOf(sent), 1);
          if (
            !(error instanceof BusError && error.code === 'no_responders') ||
            Date.now() + NO_RESPONDER_RETRY_MS >= deadline
          )
            throw error;
          await new Promise((r) => setTimeout(r, NO_RESPONDER_RETRY_MS));
          return 'again' as const;
        },
      );
      try {
        const first = await Promise.race([answered, reconnected, failed]);
        if (first !== 'again') return first;
      } finally {
        stop();
      }
    }
  }
}
