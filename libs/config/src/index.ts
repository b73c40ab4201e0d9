// Configuration of the runtime's services from the environment.
export { readEnv } from './env.js';
export type { Env } from './env.js';
export { ConfigError, RuntimeConfig, SECRET_VARIABLES, loadRuntimeConfig } from './runtime-config.js';
export type { JwtAlgorithm } from './runtime-config.js';
export { loadServiceConfig } from './service-bootstrap.js';
export type { ServiceConfigOptions } from './service-bootstrap.js';
