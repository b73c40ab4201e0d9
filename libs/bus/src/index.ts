// Messaging between services: the Bus port and its in-memory adapter.
export { BusError, subjectMatches } from './bus.js';
export type { Bus, BusErrorCode, BusMessage, ConsumeOptions, Headers, PublishOptions, Subscription, WorkHandler } from './bus.js';
export { MemoryBus } from './memory-bus.js';
export type { MemoryBusOptions } from './memory-bus.js';
