// What every service's main does first and last: read its configuration (or stop with every
// problem named), and stop cleanly on SIGTERM/SIGINT.
import { ConfigError, loadRuntimeConfig } from './runtime-config.js';
import type { RuntimeConfig } from './runtime-config.js';
import { readEnv } from './env.js';

export interface ServiceConfigOptions {
  /** Port when PORT is not set, so services on one host do not collide. */
  defaultPort: number;
  /** Whether the service only runs distributed (over NATS). */
  needsNats: boolean;
}

/** Loads the configuration for `service`; on any problem prints them all and exits with 1. */
export function loadServiceConfig(service: string, options: ServiceConfigOptions): RuntimeConfig {
  try {
    const config = loadRuntimeConfig();
    const portSet = readEnv().PORT !== undefined;
    if (options.needsNats && !config.NATS_URL) {
      throw new ConfigError([`NATS_URL: required by the ${service} service (\`npm start\` runs the whole runtime in one process without NATS)`]);
    }
    return portSet ? config : { ...config, PORT: options.defaultPort };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then `flush` (logs), then exits 0 (1 if
 * stopping failed). A second signal exits at once.
 */
export function onShutdown(stop: (signal: string) => Promise<void>, report: (error: unknown) => void, flush: () => Promise<void> = async () => {}): void {
  let stopping = false;
  const exit = (code: number) => void flush().finally(() => process.exit(code));
  const handle = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    stop(signal).then(
      () => exit(0),
      (error: unknown) => {
        report(error);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}
