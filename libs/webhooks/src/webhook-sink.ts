// Usage events for billing systems that take webhooks: each event POSTed to each endpoint as the
// JSON published on NATS, signed as Standard Webhooks. A sink reads the durable usage stream
// through a consumer of its own, so a slow or absent endpoint delays neither the NATS publication
// nor another endpoint, and a crash loses nothing: what was not acknowledged is delivered again,
// with the same id.
import { Webhook } from 'standardwebhooks';
import { RetryLaterError } from '@mozaiks/bus';
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { UsageDeadLetter, UsageUpdateEvent, describeIssues } from '@mozaiks/protocol';
import type { Subjects } from '@mozaiks/protocol';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { webhookMetrics } from './webhook-metrics.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import { backoffMs, deadLetterKey, postWebhook, sinkHost, sinkId } from './webhook-post.js';

export interface WebhookSinkOptions {
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
  timeoutMs: number;
  /** Deliveries in flight at once, in this process. */
  concurrency: number;
  /** How long after its run an event is retried before it is dead-lettered. */
  retryForMs: number;
  /** Longest wait between two attempts. @default 5 min */
  backoffMaxMs?: number;
  bus: Bus;
  subjects: Subjects;
  logger: Logger;
  metrics: RuntimeMetrics;
}

/** One webhook endpoint: its own durable consumer of the usage stream, shared by every usage-emitter. */
export class WebhookSink {
  readonly id: string;
  readonly host: string;
  private readonly signer: Webhook;
  private readonly metrics: WebhookMetrics;
  private subscription: Subscription | undefined;

  constructor(private readonly options: WebhookSinkOptions) {
    this.id = sinkId(options.url);
    this.host = sinkHost(options.url);
    this.signer = new Webhook(options.secret);
    this.metrics = webhookMetrics(options.metrics);
  }

  /** Resolves once the endpoint's consumer exists: every event published from then on reaches it. */
  async start(): Promise<void> {
    const { bus, subjects, concurrency } = this.options;
    // A new endpoint starts with the events published from now on; `mozaiks usage replay` sends it the past.
    this.subscription = bus.consume(
      subjects.allUsage,
      `usage-webhook-${this.id}`,
      (message, attempt) => this.deliver(message, attempt),
      {
        maxDeliver: Infinity,
        concurrency,
        startAt: 'new',
      },
    );
    await this.subscription.ready;
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  private async deliver(message: BusMessage, attempt: number): Promise<void> {
    const { logger } = this.options;
    const metrics = this.metrics;
    const parsed = UsageUpdateEvent.safeParse(message.data);
    if (!parsed.success) {
      logger.error(
        { sink: this.host, subject: message.subject, problem: describeIssues(parsed.error) },
        'usage webhook skipped an invalid usage event',
      );
      return;
    }
    const event = parsed.data;
    // The body is the event as NATS carries it.
    const body = JSON.stringify(message.data);
    const result = await postWebhook(this.options.url, this.signer, event.event_id, body, this.options.timeoutMs);
    const ids = { sink: this.host, event_id: event.event_id, app_id: event.app_id, attempt };
    if (result.outcome === 'delivered') {
      metrics.deliveries.inc({ sink: this.host });
      metrics.latency.observe({ sink: this.host }, Math.max(0, Date.now() - Date.parse(event.timestamp)) / 1000);
      logger.debug({ ...ids, status: result.status }, 'usage webhook delivered');
      return;
    }
    const left = Date.parse(event.timestamp) + this.options.retryForMs - Date.now();
    if (result.outcome === 'retry' && left > 0) {
      const delayMs = Math.min(left, result.retryAfterMs ?? backoffMs(attempt, Math.random, this.options.backoffMaxMs));
      metrics.retries.inc({ sink: this.host, reason: result.reason });
      logger.warn(
        { ...ids, ...(result.status ? { status: result.status } : {}), reason: result.reason, retry_in_ms: delayMs },
        'usage webhook attempt failed; retrying',
      );
      throw new RetryLaterError(delayMs, `webhook ${this.host}: ${result.reason}`);
    }
    const record: UsageDeadLetter = {
      v: 1,
      sink_id: this.id,
      sink: this.host,
      event_id: event.event_id,
      app_id: event.app_id,
      attempts: attempt,
      last_status: result.status ?? null,
      reason:
        result.outcome === 'refused'
          ? `answered ${result.status}`
          : `still failing (${result.reason}) after ${Math.round(this.options.retryForMs / 3_600_000)} h`,
      dead_at: new Date().toISOString(),
      event,
    };
    // Kept until a replay delivers it; if it cannot be kept now, the event is delivered again later.
    await this.options.bus.publish(
      this.options.subjects.usageDeadLetter(this.id, deadLetterKey(event.event_id)),
      record,
    );
    metrics.deadLetters.inc({ sink: this.host });
    logger.error(
      { ...ids, ...(result.status ? { status: result.status } : {}), reason: record.reason },
      'usage webhook dead-lettered: see mozaiks usage dead-letters, resend with mozaiks usage replay',
    );
  }
}
