// A service's configuration: the runtime's, with the service's own default port and the
// variables it cannot run without.
import { ConfigError, loadRuntimeConfig } from './runtime-config.js';
import type { RuntimeConfig } from './runtime-config.js';
import { readEnv } from './env.js';

export interface ServiceConfigOptions {
  /** Port when PORT is not set, so services on one host do not collide. */
  defaultPort: number;
  /** Whether the service only runs distributed (over NATS). */
  needsNats: boolean;
}

/**
 * Loads the configuration for `service`.
 * @throws ConfigError naming every problem; the service's main decides to exit.
 */
export function loadServiceConfig(service: string, options: ServiceConfigOptions): RuntimeConfig {
  const config = loadRuntimeConfig();
  const portSet = readEnv().PORT !== undefined;
  if (options.needsNats && !config.NATS_URL) {
    throw new ConfigError([
      `NATS_URL: required by the ${service} service (\`npm start\` runs the whole runtime in one process without NATS)`,
    ]);
  }
  return portSet ? config : { ...config, PORT: options.defaultPort };
}
