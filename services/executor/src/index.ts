// The executor service's parts, shared with the standalone runtime.
export { Executor } from './executor.js';
export type { ExecutorOptions } from './executor-options.js';
export { executorFromConfig, llmFromConfig, startChatRetentionFromConfig } from './from-config.js';
export type { ConfiguredLlm, ExecutorParts } from './from-config.js';
