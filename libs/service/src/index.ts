// The shared lifecycle of the runtime's processes: the distributed services and the standalone runtime.
export { runService } from './run-service.js';
export { connectRuntimeBus, onceBucketName, runtimeStreams } from './runtime-bus.js';
export type { RunningService, ServiceContext, ServiceOptions } from './run-service.js';
export { onShutdown } from './shutdown.js';
export { startRetention, storeFromConfig } from './store-from-config.js';
