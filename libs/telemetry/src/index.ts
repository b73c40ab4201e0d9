// Logs and metrics shared by every service.
export { LOG_LEVELS, MIN_SECRET_LENGTH, createLogger, flushLogger, scrubSecrets, toPinoLevel } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { MetricFamilies } from './metric-families.js';
export { RuntimeMetrics } from './metrics.js';
export { opsRoutes, sendJson, startOpsServer } from './ops-server.js';
export type { OpsRoutesOptions, OpsServer } from './ops-server.js';
export {
  SpanKind,
  captureMessageContent,
  childTraceparent,
  newTraceparent,
  startSpan,
  startTracing,
  traceIdOf,
} from './tracing.js';
export type { TraceSpan, Tracing } from './tracing.js';
