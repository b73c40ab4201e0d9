// The usage-emitter: prices each execution's raw usage and emits one `usage_update` to the chat
// (persisted, for the client) and to the billing subject. Measures; never blocks anything.
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { roundUsd } from '@mozaiks/llm';
import type { PriceTable } from '@mozaiks/llm';
import { RawUsage, describeIssues } from '@mozaiks/protocol';
import type { ChatEventEnvelope, ModelUsage, Subjects, Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatStore } from '@mozaiks/store';
import { childTraceparent } from '@mozaiks/telemetry';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';

export interface UsageEmitterOptions {
  bus: Bus;
  store: ChatStore;
  subjects: Subjects;
  prices: PriceTable;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Publish to `<prefix>.usage.<app_id>.<user_id>` (MONETIZATION_ENABLED). @default true */
  billing?: boolean;
}

/** The stable id of an execution's usage event: billing sinks de-duplicate on it. */
export function usageEventId(runId: string): string {
  return `usage_${runId}`;
}

/** Sums an execution's calls by model and prices them. */
export function priceUsage(raw: RawUsage, prices: PriceTable): { models: ModelUsage[]; cost_usd: number } {
  const byModel = new Map<string, ModelUsage>();
  for (const call of raw.calls) {
    const m = byModel.get(call.model) ?? { model: call.model, calls: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_usd: 0 };
    m.calls += 1;
    m.prompt_tokens += call.prompt_tokens;
    m.completion_tokens += call.completion_tokens;
    m.total_tokens += call.total_tokens;
    byModel.set(call.model, m);
  }
  const models = [...byModel.values()].map((m) => ({ ...m, cost_usd: prices.cost(m.model, m.prompt_tokens, m.completion_tokens) }));
  return { models, cost_usd: roundUsd(models.reduce((sum, m) => sum + m.cost_usd, 0)) };
}

export class UsageEmitter {
  private subscription: Subscription | undefined;
  private readonly unpriced = new Set<string>();

  constructor(private readonly options: UsageEmitterOptions) {}

  start(): void {
    // Usage is never dropped: a record that cannot be handled now is retried, with backoff, until it can.
    this.subscription = this.options.bus.consume(this.options.subjects.allUsageRaw, 'usage-emitter', (message) => this.handle(message), { maxDeliver: Infinity });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  private async handle(message: BusMessage): Promise<void> {
    const { bus, store, subjects, prices, logger, metrics } = this.options;
    const parsed = RawUsage.safeParse(message.data);
    if (!parsed.success) {
      logger.error({ subject: message.subject, problem: describeIssues(parsed.error) }, 'dropped invalid usage record');
      return;
    }
    const raw = parsed.data;
    const tenant: Tenant = { app_id: raw.app_id, user_id: raw.user_id };
    const { models, cost_usd } = priceUsage(raw, prices);
    for (const m of models) {
      if (!prices.priceOf(m.model) && !this.unpriced.has(m.model)) {
        this.unpriced.add(m.model);
        logger.warn({ model: m.model }, 'model has no price; its cost is reported as 0 (set MODEL_PRICES)');
      }
    }
    const tokens = {
      prompt_tokens: models.reduce((s, m) => s + m.prompt_tokens, 0),
      completion_tokens: models.reduce((s, m) => s + m.completion_tokens, 0),
      total_tokens: models.reduce((s, m) => s + m.total_tokens, 0),
    };
    const draft: UsageUpdateEvent = {
      type: 'usage_update',
      event_id: usageEventId(raw.run_id),
      chat_id: raw.chat_id,
      user_id: raw.user_id,
      app_id: raw.app_id,
      workflow_id: raw.workflow_id,
      run_id: raw.run_id,
      tokens,
      total_tokens: tokens.total_tokens,
      cost_usd,
      models,
      ...(raw.max_tokens === undefined ? {} : { max_tokens: raw.max_tokens }),
      timestamp: raw.finished_at,
    };
    // Idempotent on event_id: a redelivered record gets back the event stored the first time.
    const event = (await store.appendEvent(tenant, raw.chat_id, draft)) as UsageUpdateEvent;
    const envelope: ChatEventEnvelope = { v: 1, app_id: raw.app_id, user_id: raw.user_id, event };
    await bus.publish(subjects.chat(raw.app_id, raw.chat_id), envelope);
    if (this.options.billing ?? true) {
      await bus.publish(subjects.usage(raw.app_id, raw.user_id), event, { msgId: event.event_id, headers: { traceparent: childTraceparent(message.headers.traceparent) } });
    }
    metrics.tokenUsage.inc({ user_id: raw.user_id, app_id: raw.app_id }, tokens.total_tokens);
    logger.info(
      { app_id: raw.app_id, user_id: raw.user_id, workflow_id: raw.workflow_id, chat_id: raw.chat_id, run_id: raw.run_id, total_tokens: tokens.total_tokens, cost_usd },
      'usage emitted',
    );
  }
}
