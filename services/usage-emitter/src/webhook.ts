// Usage events for billing systems that take webhooks: each event POSTed to each endpoint as the
// JSON published on NATS, signed as Standard Webhooks (webhook-id = the event's id, stable across
// retries and replays). A sink reads the durable usage stream through a consumer of its own, so a
// slow or absent endpoint delays neither the NATS publication nor another endpoint, and a crash
// loses nothing: what was not acknowledged is delivered again, with the same id.
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { RetryLaterError } from '@mozaiks/bus';
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { UsageDeadLetter, UsageUpdateEvent, describeIssues } from '@mozaiks/protocol';
import type { Subjects } from '@mozaiks/protocol';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';

/** What one attempt came to: delivered (2xx), worth retrying (5xx, 408, 429, timeout, no connection), or not (other statuses). */
export type WebhookAttempt =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'retry'; status?: number; reason: string; retryAfterMs?: number }
  | { outcome: 'refused'; status: number; reason: string };

/** A sink's id, which names its consumer and its dead letters: a hash of its URL. */
export function sinkId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** How logs and metrics name a sink: its host. Its path and query may hold credentials. */
export function sinkHost(url: string): string {
  return new URL(url).host;
}

/** The subject token naming an event among a sink's dead letters (event ids may hold any character). */
export function deadLetterKey(eventId: string): string {
  return createHash('sha256').update(eventId).digest('hex').slice(0, 32);
}

/** POSTs one event, signed with `signer`, and says what came of it. Never throws. */
export async function postWebhook(
  url: string,
  signer: Webhook,
  id: string,
  body: string,
  timeoutMs: number,
): Promise<WebhookAttempt> {
  const now = new Date();
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mozaiks-usage-emitter',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(id, now, body),
      },
      body,
      // A redirect is the endpoint's misconfiguration, never followed with a signed body.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The connection is reused only once the body is read.
    await response.arrayBuffer().catch(() => undefined);
  } catch (error) {
    // The timeout's abort comes as a DOMException named TimeoutError.
    const name = (error as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return { outcome: 'retry', reason: timedOut ? 'timeout' : 'connection' };
  }
  const { status } = response;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status >= 500 || status === 408 || status === 429) {
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    return {
      outcome: 'retry',
      status,
      reason: String(status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  return { outcome: 'refused', status, reason: String(status) };
}

/** `Retry-After` in milliseconds from now: seconds, or an HTTP date. */
function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The wait before attempt `attempt + 1`: exponential from 1 s up to `maxMs`, with full jitter (never under 250 ms). */
export function backoffMs(attempt: number, random: () => number = Math.random, maxMs = 300_000): number {
  const ceiling = Math.min(maxMs, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.max(250, Math.round(random() * ceiling));
}

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
  private subscription: Subscription | undefined;

  constructor(private readonly options: WebhookSinkOptions) {
    this.id = sinkId(options.url);
    this.host = sinkHost(options.url);
    this.signer = new Webhook(options.secret);
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
    const { logger, metrics } = this.options;
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
      metrics.usageWebhookDeliveries.inc({ sink: this.host });
      metrics.usageWebhookLatency.observe(
        { sink: this.host },
        Math.max(0, Date.now() - Date.parse(event.timestamp)) / 1000,
      );
      logger.debug({ ...ids, status: result.status }, 'usage webhook delivered');
      return;
    }
    const left = Date.parse(event.timestamp) + this.options.retryForMs - Date.now();
    if (result.outcome === 'retry' && left > 0) {
      const delayMs = Math.min(left, result.retryAfterMs ?? backoffMs(attempt, Math.random, this.options.backoffMaxMs));
      metrics.usageWebhookRetries.inc({ sink: this.host, reason: result.reason });
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
    metrics.usageWebhookDeadLetters.inc({ sink: this.host });
    logger.error(
      { ...ids, ...(result.status ? { status: result.status } : {}), reason: record.reason },
      'usage webhook dead-lettered: see mozaiks usage dead-letters, resend with mozaiks usage replay',
    );
  }
}
