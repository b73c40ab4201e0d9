// Messaging between services: the Bus port, its NATS adapter and its in-memory adapter.
export { BusError, RetryLaterError, subjectMatches } from './bus.js';
export type * from './bus.js';
export { MemoryBus } from './memory-bus.js';
export { MESSAGE_ID_HEADER, VERSION_HEADER } from './nats/codec.js';
export type { ConnectionEvent } from './nats/connection-status.js';
export { NatsBus } from './nats/nats-bus.js';
export type { NatsBusOptions } from './nats/nats-bus.js';
export { durableName } from './nats/work-consumer.js';
export type { MemoryBusOptions } from './memory-bus.js';
