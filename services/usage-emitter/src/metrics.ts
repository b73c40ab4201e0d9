// The usage-emitter's own metric family: publications to the billing subjects that failed.
import type { Counter } from 'prom-client';
import type { RuntimeMetrics } from '@mozaiks/telemetry';

export interface UsageEmitterMetrics {
  /** Priced usage that could not be published to the billing subjects (each attempt; the record is retried). */
  usagePublishFailures: Counter;
}

/** The usage-emitter's families on the process's registry, declared once. */
export function usageEmitterMetrics(metrics: RuntimeMetrics): UsageEmitterMetrics {
  return metrics.declare('usage-emitter', (families) => ({
    usagePublishFailures: families.counter(
      'usage_publish_failures_total',
      'Attempts to publish priced usage to the billing subjects that failed (the record is retried from the metering stream).',
    ),
  }));
}
