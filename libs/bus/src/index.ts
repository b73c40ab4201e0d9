// Messaging between services: the Bus port, its NATS adapter and its in-memory adapter.
export { BusError, RetryLaterError, subjectMatches } from './bus.js';
export type {
  Bus,
  BusErrorCode,
  BusMessage,
  ConsumeOptions,
  Headers,
  PublishOptions,
  Subscription,
  WorkHandler,
} from './bus.js';
export { MemoryBus } from './memory-bus.js';
export { MESSAGE_ID_HEADER, NatsBus, VERSION_HEADER, connectRuntimeBus, durableName } from './nats-bus.js';
export type { NatsBusOptions } from './nats-bus.js';
export type { MemoryBusOptions } from './memory-bus.js';
