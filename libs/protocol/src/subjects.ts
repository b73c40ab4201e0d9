// Subject names on the bus. The prefix is configurable so several runtimes can share one NATS.
// No other library spells a subject; which of them are durable is the service layer's wiring.

/** Default first token of every subject. */
export const DEFAULT_SUBJECT_PREFIX = 'mozaiks';

export interface Subjects {
  /** "This chat has work" nudges for a workflow of an app; executors share them. */
  run(appId: string, workflowId: string): string;
  /** Every nudge. */
  readonly allRuns: string;
  /** A chat's live events. */
  chat(appId: string, chatId: string): string;
  /** Requests to the executor serving a chat (cancel). */
  control(appId: string, chatId: string): string;
  /** A chat was deleted: gateways close its sockets (4410), executors forget what they kept of it. */
  chatDeleted(appId: string, chatId: string): string;
  /** Every chat deletion. */
  readonly allChatDeletions: string;
  /** Tool invocations for a workflow of an app. */
  tool(appId: string, workflowId: string): string;
  /** Every tool invocation. */
  readonly allTools: string;
  /** Requests for a stored workflow version's files (answered by executors, which read the store). */
  readonly workflowVersions: string;
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
}

export function subjects(prefix: string = DEFAULT_SUBJECT_PREFIX): Subjects {
  return {
    run: (appId, workflowId) => `${prefix}.run.${appId}.${workflowId}`,
    allRuns: `${prefix}.run.*.*`,
    chat: (appId, chatId) => `${prefix}.chat.${appId}.${chatId}`,
    control: (appId, chatId) => `${prefix}.control.${appId}.${chatId}`,
    chatDeleted: (appId, chatId) => `${prefix}.chat_deleted.${appId}.${chatId}`,
    allChatDeletions: `${prefix}.chat_deleted.*.*`,
    tool: (appId, workflowId) => `${prefix}.tool.${appId}.${workflowId}`,
    allTools: `${prefix}.tool.*.*`,
    workflowVersions: `${prefix}.workflow_version`,
    metering: (appId) => `${prefix}.metering.${appId}`,
    allMetering: `${prefix}.metering.*`,
    usage: (appId, userId) => `${prefix}.usage.${appId}.${userId}`,
    allUsage: `${prefix}.usage.>`,
    usageDeadLetter: (sinkId, key) => `${prefix}.usage_dead.${sinkId}.${key}`,
    usageDeadLetters: (sinkId = '*') => `${prefix}.usage_dead.${sinkId}.*`,
  };
}
