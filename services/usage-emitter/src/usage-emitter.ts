// The usage-emitter: delivers each run's priced usage to billing. The executor that finishes a run
// prices it and persists its `usage_update` in the chat's log (the client has it from there); the
// record reaches this service through the durable metering stream, and is published to the billing
// subject, de-duplicated by event id; webhook sinks (libs/webhooks) read that stream in turn.
// Measures; never blocks anything.
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import type { RuntimeConfig } from '@mozaiks/config';
import { UsageRecord, describeIssues, subjects } from '@mozaiks/protocol';
import type { Subjects } from '@mozaiks/protocol';
import { SpanKind, childTraceparent, startSpan } from '@mozaiks/telemetry';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { WebhookSink, webhookMetrics } from '@mozaiks/webhooks';
import { usageEmitterMetrics } from './metrics.js';
import { errorMessage } from '@mozaiks/common';

export interface UsageEmitterOptions {
  bus: Bus;
  subjects: Subjects;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Publish to `<prefix>.usage.<app_id>.<user_id>` (MONETIZATION_ENABLED). @default true */
  billing?: boolean;
  /** Webhook endpoints, each fed from the usage stream by a consumer of its own. */
  sinks?: WebhookSink[];
}

export class UsageEmitter {
  private subscription: Subscription | undefined;

  constructor(private readonly options: UsageEmitterOptions) {
    // Its families are on /metrics from the start (alerts read them), webhooks or not.
    usageEmitterMetrics(options.metrics);
    webhookMetrics(options.metrics);
  }

  async start(): Promise<void> {
    // The webhook endpoints' consumers first: a new one starts at the usage published after it exists.
    await Promise.all((this.options.sinks ?? []).map((sink) => sink.start()));
    // Usage is never dropped: a record that cannot be delivered now is retried, with backoff, until it can.
    this.subscription = this.options.bus.consume(
      this.options.subjects.allMetering,
      'usage-emitter',
      (message) => this.handle(message),
      { maxDeliver: Infinity },
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.subscription?.unsubscribe(), ...(this.options.sinks ?? []).map((s) => s.stop())]);
  }

  private async handle(message: BusMessage): Promise<void> {
    const { bus, subjects, logger, metrics } = this.options;
    const parsed = UsageRecord.safeParse(message.data);
    if (!parsed.success) {
      logger.error({ subject: message.subject, problem: describeIssues(parsed.error) }, 'dropped invalid usage record');
      return;
    }
    const { event } = parsed.data;
    const span = startSpan(`usage.emit ${event.app_id}`, {
      ...(message.headers.traceparent ? { parent: message.headers.traceparent } : {}),
      kind: SpanKind.CONSUMER,
      attributes: {
        'mozaiks.app_id': event.app_id,
        'mozaiks.chat_id': event.chat_id,
        'mozaiks.run_id': event.run_id,
        'mozaiks.usage.event_id': event.event_id,
        'gen_ai.usage.input_tokens': event.tokens.prompt_tokens,
        'gen_ai.usage.output_tokens': event.tokens.completion_tokens,
        'mozaiks.cost_usd': event.cost_usd,
      },
    });
    if (this.options.billing ?? true) {
      try {
        await bus.publish(subjects.usage(event.app_id, event.user_id), event, {
          msgId: event.event_id,
          headers: { traceparent: childTraceparent(span.traceparent, 'publish usage') },
        });
      } catch (error) {
        span.fail(error);
        usageEmitterMetrics(metrics).usagePublishFailures.inc();
        logger.warn(
          {
            app_id: event.app_id,
            run_id: event.run_id,
            event_id: event.event_id,
            error: errorMessage(error),
          },
          'usage not published yet; retrying from the metering stream',
        );
        throw error;
      }
    }
    metrics.tokenUsage.inc({ user_id: event.user_id, app_id: event.app_id }, event.total_tokens);
    span.end();
    // Detail: every usage event is on the usage stream, and counted in token_usage_total.
    logger.debug(
      {
        app_id: event.app_id,
        user_id: event.user_id,
        workflow_id: event.workflow_id,
        ...(event.workflow_version ? { workflow_version: event.workflow_version } : {}),
        chat_id: event.chat_id,
        run_id: event.run_id,
        total_tokens: event.total_tokens,
        cost_usd: event.cost_usd,
      },
      'usage emitted',
    );
  }
}

/** The usage-emitter as the configuration describes it: the same in its own process and in standalone. */
export function usageEmitterFromConfig(
  config: RuntimeConfig,
  parts: { bus: Bus; logger: Logger; metrics: RuntimeMetrics },
): UsageEmitter {
  const wiring = subjects(config.SUBJECT_PREFIX);
  const sinks = config.USAGE_WEBHOOK_SECRET
    ? config.USAGE_WEBHOOK_URL.map(
        (url) =>
          new WebhookSink({
            url,
            secret: config.USAGE_WEBHOOK_SECRET!,
            timeoutMs: config.USAGE_WEBHOOK_TIMEOUT_SECONDS * 1000,
            concurrency: config.USAGE_WEBHOOK_CONCURRENCY,
            retryForMs: config.USAGE_WEBHOOK_RETRY_HOURS * 3_600_000,
            backoffMaxMs: config.USAGE_WEBHOOK_BACKOFF_MAX_SECONDS * 1000,
            bus: parts.bus,
            subjects: wiring,
            logger: parts.logger,
            metrics: parts.metrics,
          }),
      )
    : [];
  return new UsageEmitter({ ...parts, subjects: wiring, billing: config.MONETIZATION_ENABLED, sinks });
}
