// The engine's ports for one chat, on the store and the bus: history and events are persisted
// before anyone hears of them, then published live to the chat's subject.
import { randomUUID } from 'node:crypto';
import type { Bus } from '@mozaiks/bus';
import type { ChatMessage, RunJournal, RunStep, ToolInvocation, ToolInvoker, ToolOutcome } from '@mozaiks/engine';
import type { ChatEventEnvelope, EventBody, ServerEvent, Subjects, Tenant, ToolReply, ToolRequest } from '@mozaiks/protocol';
import type { ChatStore, PendingInput } from '@mozaiks/store';
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
  return { ...body, chat_id: chatId, event_id: newEventId(), timestamp: new Date().toISOString() } as ServerEvent;
}

/** Publishes an event to the chat's live subject, addressed to its owner. */
export async function publishChatEvent(bus: Bus, subjects: Subjects, tenant: Tenant, event: ServerEvent): Promise<void> {
  const envelope: ChatEventEnvelope = { v: 1, app_id: tenant.app_id, user_id: tenant.user_id, event };
  await bus.publish(subjects.chat(tenant.app_id, event.chat_id), envelope);
}

/** The engine's journal on the store: each step committed atomically, then its events published live. */
export class StoreRunJournal implements RunJournal {
  constructor(
    private readonly store: ChatStore,
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly scope: ChatScope,
    private readonly runId: string,
    private readonly input: PendingInput,
  ) {}

  async load(): Promise<ChatMessage[]> {
    return (await this.store.listMessages(this.scope.tenant, this.scope.chatId)) as ChatMessage[];
  }

  live(event: EventBody): void {
    void publishChatEvent(this.bus, this.subjects, this.scope.tenant, stampEvent(this.scope.chatId, event)).catch(() => undefined);
  }

  async commit(step: RunStep): Promise<void> {
    const events = await this.store.commit(this.scope.tenant, this.scope.chatId, {
      ...(step.messages ? { messages: step.messages } : {}),
      ...(step.awaitInput ? { awaitInput: step.awaitInput } : {}),
      ...(step.variables ? { context: step.variables } : {}),
      events: (step.events ?? []).map((e) => stampEvent(this.scope.chatId, e)),
      run: { run_id: this.runId, input: this.input, ...(step.calls ? { calls: step.calls } : {}), ...(step.finish ? { finish: step.finish } : {}) },
    });
    // Live delivery is best effort: a gateway that misses one fills the gap from the store by seq.
    for (const event of events) await publishChatEvent(this.bus, this.subjects, this.scope.tenant, event).catch(() => undefined);
  }
}

/** Asks the tool-runner, over the bus, to run a tool; an unreachable runner is a tool error. */
export class BusToolInvoker implements ToolInvoker {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly scope: ChatScope,
    private readonly defaultTimeoutMs: number,
  ) {}

  async invoke({ tool, args }: ToolInvocation): Promise<ToolOutcome> {
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
      timeout_ms: timeoutMs,
    };
    const started = performance.now();
    try {
      // The runner enforces the timeout, after letting the call wait as long again for a free
      // slot; the extra second lets its answer arrive.
      const reply = await this.bus.request<ToolReply>(this.subjects.tool(request.app_id, request.workflow_id), request, {
        timeoutMs: 2 * timeoutMs + 1000,
        headers: { traceparent: childTraceparent(this.scope.traceparent) },
      });
      return reply.ok ? { ok: true, result: reply.result, duration_ms: reply.duration_ms } : { ok: false, error: reply.error, duration_ms: reply.duration_ms };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, error: { code: 'tool_unavailable', message: `tool ${tool.name} could not be run: ${message}` }, duration_ms: performance.now() - started };
    }
  }
}
