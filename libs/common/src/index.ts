// @mozaiks/common: small helpers every room needs, with no dependencies.
export { backoffDelay } from './backoff.js';
export type { BackoffPolicy } from './backoff.js';
export { errorMessage } from './error-message.js';
export { sleep } from './sleep.js';
export { FairGate, GateRefusedError } from './fair-gate.js';
export type { FairGateOptions } from './fair-gate.js';
export { Batcher } from './batcher.js';
export type { BatcherOptions } from './batcher.js';
