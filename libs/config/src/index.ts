// Configuration of the runtime's services from the environment.
export { readEnv } from './env.js';
export type { Env } from './env.js';
export { ConfigError, RuntimeConfig, SECRET_VARIABLES, loadRuntimeConfig, secretValues } from './runtime-config.js';
export type { JwtAlgorithm } from './runtime-config.js';
export { loadServiceConfig } from './service-config.js';
export type { ServiceConfigOptions } from './service-config.js';
