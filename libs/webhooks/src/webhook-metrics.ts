// The webhook sinks' metric families, by endpoint host.
import type { Counter, Histogram } from 'prom-client';
import type { RuntimeMetrics } from '@mozaiks/telemetry';

export interface WebhookMetrics {
  /** Usage events a webhook endpoint accepted (2xx), by endpoint host. */
  deliveries: Counter<'sink'>;
  /** Failed webhook attempts that will be retried, by endpoint host and why (status code, `timeout`, `connection`). */
  retries: Counter<'sink' | 'reason'>;
  /** Usage events a webhook endpoint will not be sent again until a replay, by endpoint host. */
  deadLetters: Counter<'sink'>;
  /** From a run's usage event to its endpoint's 2xx, retries included. */
  latency: Histogram<'sink'>;
}

/** The webhook families on the process's registry, declared once. */
export function webhookMetrics(metrics: RuntimeMetrics): WebhookMetrics {
  return metrics.declare('webhooks', (families) => ({
    deliveries: families.counter(
      'usage_webhook_deliveries_total',
      'Usage events a webhook endpoint accepted with a 2xx, by endpoint host.',
      ['sink'],
    ),
    retries: families.counter(
      'usage_webhook_retries_total',
      'Webhook attempts that failed and will be retried, by endpoint host and reason (HTTP status, timeout, connection).',
      ['sink', 'reason'],
    ),
    deadLetters: families.counter(
      'usage_webhook_dead_letters_total',
      'Usage events dead-lettered by a webhook endpoint (a 4xx other than 408 and 429, or retries past USAGE_WEBHOOK_RETRY_HOURS).',
      ['sink'],
    ),
    latency: families.histogram(
      'usage_webhook_delivery_seconds',
      "From a run's usage event to its webhook endpoint's 2xx, retries included.",
      ['sink'],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
    ),
  }));
}
