// The tool-runner's own metric families: the calls it answers and its slots and workers.
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { RuntimeMetrics } from '@mozaiks/telemetry';

export interface ToolRunnerMetrics {
  /** Tool calls by workflow and outcome (`ok` or the error code). */
  toolCalls: Counter<'workflow_id' | 'outcome'>;
  /** Wall time of one tool call on the runner, queueing included. */
  toolDuration: Histogram<'workflow_id'>;
  /** Tool calls running and waiting for a slot on this tool-runner. */
  toolCallsActive: Gauge<'state'>;
  /** Tool worker processes of this tool-runner, idle and busy. */
  toolWorkers: Gauge<'state'>;
}

/** The tool-runner's families on the process's registry, declared once. */
export function toolRunnerMetrics(metrics: RuntimeMetrics): ToolRunnerMetrics {
  return metrics.declare('tool-runner', (families) => ({
    toolCalls: families.counter(
      'tool_calls_total',
      'Tool calls answered by this tool-runner, by workflow and outcome (ok or the error code).',
      ['workflow_id', 'outcome'],
    ),
    toolDuration: families.histogram(
      'tool_call_duration_seconds',
      'Duration of tool calls on the tool-runner in seconds, waiting for a slot included.',
      ['workflow_id'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    toolCallsActive: families.gauge(
      'tool_calls_active',
      'Tool calls on this tool-runner, by state: running, or waiting for a slot.',
      ['state'],
    ),
    toolWorkers: families.gauge(
      'tool_workers',
      'Tool worker processes of this tool-runner, by state: idle (warm) or busy.',
      ['state'],
    ),
  }));
}
