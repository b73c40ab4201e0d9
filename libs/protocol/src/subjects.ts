// Subject names on the bus, and the durable streams that hold some of them. The prefix is
// configurable so several runtimes can share one NATS. No other library spells a subject.

/** Default first token of every subject. */
export const DEFAULT_SUBJECT_PREFIX = 'mozaiks';

/** A durable stream: which subjects it holds, and how long. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** `workqueue`: a message is gone once a consumer acknowledges it. `limits`: kept for `maxAgeMs`. */
  retention: 'workqueue' | 'limits';
  maxAgeMs: number;
  /** Window within which a repeated message id is stored once. */
  duplicateWindowMs: number;
  /** Messages kept per subject: the newest replaces the one before. @default unlimited */
  maxMsgsPerSubject?: number;
}

export interface Subjects {
  /** "This chat has work" nudges for a workflow of an app; executors share them. */
  run(appId: string, workflowId: string): string;
  /** Every nudge. */
  readonly allRuns: string;
  /** A chat's live events. */
  chat(appId: string, chatId: string): string;
  /** Requests to the executor serving a chat (cancel). */
  control(appId: string, chatId: string): string;
  /** Tool invocations for a workflow of an app. */
  tool(appId: string, workflowId: string): string;
  /** Every tool invocation. */
  readonly allTools: string;
  /**
   * Priced usage of an app's runs on its way to the usage-emitter. Kept outside `usage.>` so a
   * billing pipeline that subscribes to `<prefix>.usage.>` receives what the emitter delivers only.
   */
  metering(appId: string): string;
  /** Every metering record. */
  readonly allMetering: string;
  /** Priced `usage_update` events for billing pipelines. */
  usage(appId: string, userId: string): string;
  /** Every usage event: what webhook sinks deliver and `mozaiks usage` reads. */
  readonly allUsage: string;
  /** A usage event a webhook sink gave up on (`key` names the event): one message, the latest, per event and sink. */
  usageDeadLetter(sinkId: string, key: string): string;
  /** Every dead letter of one sink (`*`: of every sink). */
  usageDeadLetters(sinkId?: string): string;
  /** The streams that make nudges, metering and billing durable. */
  readonly streams: StreamSpec[];
  /** The key-value bucket where a tool call's result is kept, so a repeated request gets it instead of a second run. */
  readonly onceBucket: string;
}

export function subjects(prefix: string = DEFAULT_SUBJECT_PREFIX): Subjects {
  const name = prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const day = 24 * 3600_000;
  return {
    run: (appId, workflowId) => `${prefix}.run.${appId}.${workflowId}`,
    allRuns: `${prefix}.run.*.*`,
    chat: (appId, chatId) => `${prefix}.chat.${appId}.${chatId}`,
    control: (appId, chatId) => `${prefix}.control.${appId}.${chatId}`,
    tool: (appId, workflowId) => `${prefix}.tool.${appId}.${workflowId}`,
    allTools: `${prefix}.tool.*.*`,
    metering: (appId) => `${prefix}.metering.${appId}`,
    allMetering: `${prefix}.metering.*`,
    usage: (appId, userId) => `${prefix}.usage.${appId}.${userId}`,
    allUsage: `${prefix}.usage.>`,
    usageDeadLetter: (sinkId, key) => `${prefix}.usage_dead.${sinkId}.${key}`,
    usageDeadLetters: (sinkId = '*') => `${prefix}.usage_dead.${sinkId}.*`,
    onceBucket: `${name}_ONCE`,
    streams: [
      {
        name: `${name}_RUNS`,
        subjects: [`${prefix}.run.>`],
        retention: 'workqueue',
        maxAgeMs: 7 * day,
        duplicateWindowMs: 120_000,
      },
      {
        name: `${name}_METERING`,
        subjects: [`${prefix}.metering.>`],
        retention: 'workqueue',
        maxAgeMs: 30 * day,
        duplicateWindowMs: 120_000,
      },
      {
        name: `${name}_USAGE`,
        subjects: [`${prefix}.usage.>`],
        retention: 'limits',
        maxAgeMs: 30 * day,
        duplicateWindowMs: 10 * 60_000,
      },
      // What a webhook sink could not deliver, until a replay delivers it (then it is purged).
      {
        name: `${name}_USAGE_DEAD`,
        subjects: [`${prefix}.usage_dead.>`],
        retention: 'limits',
        maxAgeMs: 30 * day,
        duplicateWindowMs: 60_000,
        maxMsgsPerSubject: 1,
      },
    ],
  };
}
