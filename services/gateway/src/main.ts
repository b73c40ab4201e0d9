// `npm run gateway`: the gateway service's composition root. WebSockets and token checks on PORT
// (default 8000), run requests and chat events over NATS, the store for queued inputs and replay.
import { connectRuntimeBus } from '@mozaiks/bus';
import { loadServiceConfig, onShutdown } from '@mozaiks/config';
import { subjects as subjectsFor } from '@mozaiks/protocol';
import { SqliteChatStore } from '@mozaiks/store';
import { RuntimeMetrics, createLogger, flushLogger, toPinoLevel } from '@mozaiks/telemetry';
import { verifierFromConfig } from './from-config.js';
import { Gateway } from './gateway.js';

async function main(): Promise<void> {
  const config = loadServiceConfig('gateway', { defaultPort: 8000, needsNats: true });
  const logger = createLogger({ service: 'gateway', level: toPinoLevel(config.LOG_LEVEL) ?? 'info', secrets: [config.OPENAI_API_KEY, config.JWT_SECRET, config.MONGODB_URI] });
  if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY) {
    process.stderr.write('gateway: invalid configuration:\n  - JWT_SECRET or JWT_PUBLIC_KEY: required, and the same on every gateway\n');
    process.exit(1);
  }
  const verifier = verifierFromConfig(config);
  const metrics = new RuntimeMetrics();
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const bus = await connectRuntimeBus({
    servers: config.NATS_URL!, prefix: config.SUBJECT_PREFIX, service: 'gateway', ackWaitMs: config.RUN_ACK_WAIT_SECONDS * 1000,
    onError: (error, subject) => logger.error({ subject, error: String(error) }, 'bus handler failed'),
  });
  const gateway = new Gateway({
    verifier, bus, store, metrics, logger,
    subjects: subjectsFor(config.SUBJECT_PREFIX),
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    isReady: () => bus.connected,
  });
  const address = await gateway.listen(config.PORT, config.HOST);
  logger.info({ url: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${address.port}`, nats: config.NATS_URL }, 'gateway listening');

  onShutdown(async (signal) => {
    logger.info({ signal }, 'gateway draining: closing sockets with 1012');
    await gateway.stop();
    await bus.drain();
    await store.close();
    logger.info('gateway stopped');
  }, (error) => logger.error({ error: String(error) }, 'gateway did not stop cleanly'), () => flushLogger(logger));
}

void main().catch((error: unknown) => {
  process.stderr.write(`gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
