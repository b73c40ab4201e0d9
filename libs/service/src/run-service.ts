// The lifecycle every distributed service shares, so each main says only what is its own: read the
// configuration (or stop, naming every problem), connect to NATS and (when the service keeps chats)
// the store, serve /health, /ready and /metrics, and on SIGTERM/SIGINT stop taking work, let the
// work in flight finish, then close.
import type { NatsBus } from '@mozaiks/bus';
import { ConfigError, loadServiceConfig, secretValues } from '@mozaiks/config';
import type { RuntimeConfig } from '@mozaiks/config';
import { StoreUnavailableError } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import {
  RuntimeMetrics,
  createLogger,
  flushLogger,
  startOpsServer,
  startTracing,
  toPinoLevel,
} from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { connectRuntimeBus } from './runtime-bus.js';
import { onShutdown } from './shutdown.js';
import { storeFromConfig } from './store-from-config.js';
import { errorMessage } from '@mozaiks/common';

export interface ServiceContext {
  config: RuntimeConfig;
  logger: Logger;
  metrics: RuntimeMetrics;
  bus: NatsBus;
  /** The chat store, for a service started with `store: true`. */
  stores: ChatStores | undefined;
  /** Whether the service is connected (bus, store) and not draining: what /ready reports. */
  ready: () => boolean;
}

export interface RunningService {
  /** Stops taking work and finishes (or hands back) the work in flight. */
  stop(): Promise<void>;
  /** Releases what outlives the bus (endpoints), after the bus has drained. */
  close?(): Promise<void>;
  /** Fields for the "running" log line. */
  info?: Record<string, unknown>;
}

export interface ServiceOptions {
  /** PORT when none is set, so the services of one host do not collide. */
  defaultPort: number;
  /** Serve /health, /ready and /metrics on PORT; off for a service that serves them itself. @default true */
  opsEndpoints?: boolean;
  /** Open the chat store (MONGODB_URI, else SQLite under DATA_DIR). @default false */
  store?: boolean;
}

/** Runs the service `name` built by `start` until a signal stops it; exits 1 if it cannot start. */
export function runService(
  name: string,
  options: ServiceOptions,
  start: (context: ServiceContext) => Promise<RunningService>,
): void {
  void (async () => {
    const config = loadServiceConfig(name, { defaultPort: options.defaultPort, needsNats: true });
    const logger = createLogger({
      service: name,
      level: toPinoLevel(config.LOG_LEVEL) ?? 'info',
      secrets: secretValues(config),
    });
    const metrics = new RuntimeMetrics();
    // Before anything makes spans: the SDK only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    const tracing = await startTracing(name);
    const stores = options.store ? await storeFromConfig(config) : undefined;
    const bus = await connectRuntimeBus({
      servers: config.NATS_URL!,
      prefix: config.SUBJECT_PREFIX,
      service: name,
      ackWaitMs: config.RUN_ACK_WAIT_SECONDS * 1000,
      onError: (error, subject) => logger.error({ subject, error: errorMessage(error) }, 'bus handler failed'),
      onStatus: ({ type, server }) =>
        type === 'disconnected'
          ? logger.warn({ server }, 'lost the NATS connection; reconnecting')
          : logger.info({ server }, 'NATS connection back'),
    });
    let draining = false;
    const ready = () => bus.connected && (stores?.healthy() ?? true) && !draining;
    const service = await start({ config, logger, metrics, bus, stores, ready });
    metrics.observe(name, { ready });
    const ops =
      options.opsEndpoints === false
        ? undefined
        : await startOpsServer({ port: config.PORT, host: config.HOST, metrics, isReady: ready });
    logger.info(
      {
        ...service.info,
        ...(ops ? { ops_port: ops.address.port } : {}),
        nats: config.NATS_URL,
        ...(stores ? { store: stores.location } : {}),
        tracing: tracing.enabled,
      },
      `${name} running`,
    );

    onShutdown(
      async (signal) => {
        draining = true;
        logger.info({ signal }, `${name} draining`);
        await service.stop();
        await bus.drain();
        await service.close?.();
        await stores?.close();
        await ops?.close();
        await tracing
          .shutdown()
          .catch((error: unknown) => logger.warn({ error: errorMessage(error) }, 'could not export the last spans'));
        logger.info(`${name} stopped`);
      },
      (error) => logger.error({ error: errorMessage(error) }, `${name} did not stop cleanly`),
      () => flushLogger(logger),
    );
  })().catch((error: unknown) => {
    // What the operator can act on is said plainly; anything else with its stack.
    const known = error instanceof ConfigError || error instanceof StoreUnavailableError;
    process.stderr.write(
      `${name} failed to start: ${error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error)}\n`,
    );
    process.exit(1);
  });
}
