// The usage-emitter service's parts, shared with the standalone runtime.
export { UsageEmitter, usageEmitterFromConfig } from './usage-emitter.js';
export type { UsageEmitterOptions } from './usage-emitter.js';
export { WebhookSink, backoffMs, deadLetterKey, postWebhook, sinkHost, sinkId } from './webhook.js';
export type { WebhookAttempt, WebhookSinkOptions } from './webhook.js';
