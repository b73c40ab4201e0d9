// The run's journal as its steps use it: every model call is counted, and told to the client
// (`usage_delta`) with the step that bills it; the user's message is written with the first step.
// What it cannot commit stops the run with the store's error, to be continued when started again.
import type { EventBody, LlmCallUsage } from '@mozaiks/protocol';
import type { ChatMessage, RunJournal, RunStep } from '../ports.js';

/** Events that end a run's story; a step's usage_delta events come before them. */
const RUN_END_EVENTS = new Set<string>(['error', 'input_request', 'ui_tool', 'workflow_complete']);

export class BillingJournal implements RunJournal {
  /** Every model call of this attempt, for the run's outcome. */
  readonly calls: LlmCallUsage[] = [];
  /** Calls no step carries, billed with the next step committed. */
  private readonly unbilled: LlmCallUsage[] = [];
  /** How long each model call took, for its usage_delta. */
  private readonly durations = new WeakMap<LlmCallUsage, number>();
  /** Messages to write with the next step (the user's message, already durable as the run's input). */
  private readonly pending: ChatMessage[] = [];
  /** Set when a step could not be committed: the failure is the store's, not the run's. */
  uncommitted: { error: unknown } | undefined;

  constructor(
    private readonly durable: RunJournal,
    private readonly runId: string,
  ) {}

  load(): Promise<ChatMessage[]> {
    return this.durable.load();
  }

  live(event: EventBody): void {
    this.durable.live(event);
  }

  /** Writes `message` with the next step: one write less before the first model call. */
  withNextStep(message: ChatMessage): void {
    this.pending.push(message);
  }

  /** A model call of this attempt, which took `durationMs`; billed by the step that carries it. */
  count(usage: LlmCallUsage, durationMs?: number): void {
    this.calls.push(usage);
    if (durationMs !== undefined) this.durations.set(usage, durationMs);
  }

  /** A counted call that no step carries (a reply replaced by its retry): billed with the next step. */
  billWithNextStep(usage: LlmCallUsage): void {
    this.unbilled.push(usage);
  }

  /** A call made outside an agent's reply (a pattern's choice, a routing, a cancelled call): counted and billed with the next step. */
  record(usage: LlmCallUsage): void {
    this.count(usage);
    this.billWithNextStep(usage);
  }

  async commit(step: RunStep): Promise<void> {
    const messages = this.pending.length ? [...this.pending.splice(0), ...(step.messages ?? [])] : step.messages;
    const billed = this.unbilled.length ? [...(step.calls ?? []), ...this.unbilled.splice(0)] : step.calls;
    const events = withUsageDeltas(
      step.events,
      (billed ?? []).map((call) => this.usageDelta(call)),
    );
    try {
      await this.durable.commit({
        ...step,
        ...(messages ? { messages } : {}),
        ...(billed ? { calls: billed } : {}),
        ...(events ? { events } : {}),
      });
    } catch (error) {
      this.uncommitted = { error };
      throw error;
    }
  }

  /** A `usage_delta` event for one model call. */
  private usageDelta(call: LlmCallUsage): EventBody {
    const duration = this.durations.get(call);
    return {
      type: 'usage_delta',
      run_id: this.runId,
      agent: call.agent,
      model: call.model,
      prompt_tokens: call.prompt_tokens,
      completion_tokens: call.completion_tokens,
      total_tokens: call.total_tokens,
      ...(duration === undefined ? {} : { duration_ms: Math.round(duration * 10) / 10 }),
      ...(call.estimated ? { estimated: true } : {}),
    };
  }
}

/**
 * The step's events with each model call told after what the call produced and before what ends
 * the run (an error, an input request or UI tool, workflow_complete).
 */
function withUsageDeltas(events: EventBody[] | undefined, deltas: EventBody[]): EventBody[] | undefined {
  if (deltas.length === 0) return events;
  if (!events) return deltas;
  const told = [...events];
  const end = told.findIndex((e) => RUN_END_EVENTS.has(e.type));
  told.splice(end >= 0 ? end : told.length, 0, ...deltas);
  return told;
}
