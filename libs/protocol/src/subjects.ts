// Subject names on the bus. The prefix is configurable so several runtimes can share one NATS.

/** Default first token of every subject. */
export const DEFAULT_SUBJECT_PREFIX = 'mozaiks';

export interface Subjects {
  /** Run requests for a workflow of an app; executors share them. */
  run(appId: string, workflowId: string): string;
  /** Every run request. */
  readonly allRuns: string;
  /** A chat's live events. */
  chat(appId: string, chatId: string): string;
  /** Tool invocations for a workflow of an app. */
  tool(appId: string, workflowId: string): string;
  /** Every tool invocation. */
  readonly allTools: string;
  /**
   * Unpriced usage of an app's executions. Kept outside `usage.>` so a billing pipeline that
   * subscribes to `<prefix>.usage.>` receives priced events only.
   */
  usageRaw(appId: string): string;
  /** Every unpriced usage record. */
  readonly allUsageRaw: string;
  /** Priced `usage_update` events for billing pipelines. */
  usage(appId: string, userId: string): string;
}

export function subjects(prefix: string = DEFAULT_SUBJECT_PREFIX): Subjects {
  return {
    run: (appId, workflowId) => `${prefix}.run.${appId}.${workflowId}`,
    allRuns: `${prefix}.run.*.*`,
    chat: (appId, chatId) => `${prefix}.chat.${appId}.${chatId}`,
    tool: (appId, workflowId) => `${prefix}.tool.${appId}.${workflowId}`,
    allTools: `${prefix}.tool.*.*`,
    usageRaw: (appId) => `${prefix}.metering.${appId}`,
    allUsageRaw: `${prefix}.metering.*`,
    usage: (appId, userId) => `${prefix}.usage.${appId}.${userId}`,
  };
}
