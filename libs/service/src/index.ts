// The shared lifecycle of the distributed services.
export { runService } from './run-service.js';
export type { RunningService, ServiceContext, ServiceOptions } from './run-service.js';
