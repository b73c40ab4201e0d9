// The usage-emitter service's parts, shared with the standalone runtime.
export { UsageEmitter, usageEmitterFromConfig } from './usage-emitter.js';
export type { UsageEmitterOptions } from './usage-emitter.js';
