// @mozaiks/webhooks: usage delivered to billing webhooks (the usage-emitter's sinks) and resent
// by operators (`mozaiks usage replay`).
export { webhookMetrics } from './webhook-metrics.js';
export type { WebhookMetrics } from './webhook-metrics.js';
export { backoffMs, deadLetterKey, postWebhook, sinkHost, sinkId } from './webhook-post.js';
export type { WebhookAttempt } from './webhook-post.js';
export { WebhookSink } from './webhook-sink.js';
export type { WebhookSinkOptions } from './webhook-sink.js';
