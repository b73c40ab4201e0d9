// The tool-runner's options and limits, as the configuration gives them, with their defaults.
import type { Bus } from '@mozaiks/bus';
import type { RuntimeConfig } from '@mozaiks/config';
import { subjects } from '@mozaiks/protocol';
import type { Subjects } from '@mozaiks/protocol';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { ToolRunner } from './tool-runner.js';

export interface ToolRunnerLimits {
  /** Calls running at once. @default 8 */
  concurrency?: number;
  /** Calls of one app running at once. @default half of `concurrency`, at least 1 */
  perApp?: number;
  /** Calls waiting at once; more are refused with `tool_busy`. @default 1000 */
  queueLimit?: number;
  /** Memory of one worker process, in MiB. @default 256 */
  memoryMb?: number;
  /** Calls a worker serves before it is replaced. @default 100 */
  workerMaxCalls?: number;
  /** Milliseconds an idle worker is kept. @default 60000 */
  workerIdleMs?: number;
  /** Idle workers kept over all apps and workflows. @default 16 */
  maxIdleWorkers?: number;
}

export interface ToolRunnerOptions {
  bus: Bus;
  subjects: Subjects;
  /** Folder holding one folder per workflow. */
  workflowsDir: string;

  logger: Logger;
  metrics?: RuntimeMetrics;
  /** Where the variables tools declare (`env:` in tools.yaml) take their values; nothing else of it reaches a tool. */
  toolEnv?: Readonly<Record<string, string | undefined>>;
  /** Interpreter for Python tools. @default 'python3' */
  python?: string;
  /** Milliseconds `stop()` lets calls in flight finish before it stops their workers. @default 25000 */
  shutdownGraceMs?: number;
  limits?: ToolRunnerLimits;
}

/** The options with every default filled in, once. */
export type ToolRunnerOptionsWithDefaults = ToolRunnerOptions &
  Required<Pick<ToolRunnerOptions, 'python' | 'shutdownGraceMs'>> & { limits: Required<ToolRunnerLimits> };

export function toolRunnerOptionsWithDefaults(options: ToolRunnerOptions): ToolRunnerOptionsWithDefaults {
  return {
    ...options,
    python: options.python ?? 'python3',
    shutdownGraceMs: options.shutdownGraceMs ?? 25_000,
    limits: limitsWithDefaults(options.limits),
  };
}

/** The tool-runner's limits with their defaults filled in. */
function limitsWithDefaults(limits: ToolRunnerLimits = {}): Required<ToolRunnerLimits> {
  const concurrency = limits.concurrency ?? 8;
  return {
    concurrency,
    perApp: limits.perApp ?? Math.max(1, Math.floor(concurrency / 2)),
    queueLimit: limits.queueLimit ?? 1000,
    memoryMb: limits.memoryMb ?? 256,
    workerMaxCalls: limits.workerMaxCalls ?? 100,
    workerIdleMs: limits.workerIdleMs ?? 60_000,
    maxIdleWorkers: limits.maxIdleWorkers ?? 16,
  };
}

/** The tool-runner as the configuration describes it: the same in its own process and in standalone. */
export function toolRunnerFromConfig(
  config: RuntimeConfig,
  parts: { bus: Bus; logger: Logger; metrics: RuntimeMetrics; toolEnv: Readonly<Record<string, string | undefined>> },
): ToolRunner {
  return new ToolRunner({
    bus: parts.bus,
    subjects: subjects(config.SUBJECT_PREFIX),
    workflowsDir: config.WORKFLOWS_DIR,
    logger: parts.logger,
    metrics: parts.metrics,
    // Tools receive only the variables they declare, taken from here.
    toolEnv: parts.toolEnv,
    python: config.TOOL_PYTHON,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
    limits: toolRunnerLimits(config),
  });
}

/** The limits the runtime's configuration sets. */
export function toolRunnerLimits(config: RuntimeConfig): ToolRunnerLimits {
  return {
    concurrency: config.TOOL_CONCURRENCY,
    ...(config.TOOL_CONCURRENCY_PER_APP === undefined ? {} : { perApp: config.TOOL_CONCURRENCY_PER_APP }),
    queueLimit: config.TOOL_QUEUE_LIMIT,
    memoryMb: config.TOOL_MEMORY_MB,
    workerMaxCalls: config.TOOL_WORKER_MAX_CALLS,
    workerIdleMs: config.TOOL_WORKER_IDLE_SECONDS * 1000,
    maxIdleWorkers: config.TOOL_IDLE_WORKERS,
  };
}
