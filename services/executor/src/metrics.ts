// The executor's own metric families: its model calls, the chats it serves, and (in its own
// process) the run queue's backlog.
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { RuntimeMetrics } from '@mozaiks/telemetry';

export interface ExecutorMetrics {
  /** LLM calls by model and outcome (`ok`, `error`, `cancelled`), each counted once after its retries. */
  llmCalls: Counter<'model' | 'outcome'>;
  /** Wall time of one LLM call, retries included. */
  llmDuration: Histogram<'model'>;
  /** Chats an executor is serving now (each runs its inputs one at a time): its share of EXECUTOR_CONCURRENCY. */
  runsInFlight: Gauge;
  /** Reports the run queue's backlog (the executors' consumer's pending count), read on each scrape. */
  watchRunQueue(pending: () => Promise<number | undefined>): void;
}

/** The executor's families on the process's registry, declared once. */
export function executorMetrics(metrics: RuntimeMetrics): ExecutorMetrics {
  return metrics.declare('executor', (families) => {
    let readBacklog: (() => Promise<number | undefined>) | undefined;
    return {
      llmCalls: families.counter(
        'llm_calls_total',
        'LLM calls by model and outcome (ok, error or cancelled), counted once after retries.',
        ['model', 'outcome'],
      ),
      llmDuration: families.histogram(
        'llm_call_duration_seconds',
        'Duration of LLM calls in seconds, retries included.',
        ['model'],
        [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 120],
      ),
      runsInFlight: families.gauge(
        'runs_in_flight',
        'Chats this executor is serving now (executors only; bounded by EXECUTOR_CONCURRENCY).',
      ),
      watchRunQueue(pending) {
        // Only a process that reads the queue reports it: a 0 from any other would be a false reading.
        if (readBacklog) return;
        readBacklog = pending;
        families.gauge(
          'run_queue_pending',
          'Run requests waiting in the JetStream run queue for an executor to take them (executors only).',
          [],
          async (gauge) => {
            const waiting = await readBacklog?.().catch(() => undefined);
            if (waiting !== undefined) gauge.set(waiting);
          },
        );
      },
    };
  });
}
