// `npm run usage-emitter`: the usage-emitter service's composition root. Prices raw usage from
// NATS and publishes usage_update to chats and billing subjects; ops endpoints on PORT (8003).
import { connectRuntimeBus } from '@mozaiks/bus';
import { loadServiceConfig, onShutdown } from '@mozaiks/config';
import { PriceTable } from '@mozaiks/llm';
import { subjects as subjectsFor } from '@mozaiks/protocol';
import { SqliteChatStore } from '@mozaiks/store';
import { RuntimeMetrics, createLogger, flushLogger, startOpsServer, toPinoLevel } from '@mozaiks/telemetry';
import { UsageEmitter } from './usage-emitter.js';

async function main(): Promise<void> {
  const config = loadServiceConfig('usage-emitter', { defaultPort: 8003, needsNats: true });
  const logger = createLogger({ service: 'usage-emitter', level: toPinoLevel(config.LOG_LEVEL) ?? 'info', secrets: [config.OPENAI_API_KEY, config.JWT_SECRET, config.MONGODB_URI] });
  const metrics = new RuntimeMetrics();
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const bus = await connectRuntimeBus({
    servers: config.NATS_URL!, prefix: config.SUBJECT_PREFIX, service: 'usage-emitter', ackWaitMs: config.RUN_ACK_WAIT_SECONDS * 1000,
    onError: (error, subject) => logger.error({ subject, error: String(error) }, 'bus handler failed'),
  });
  const emitter = new UsageEmitter({
    bus, store, metrics, logger,
    subjects: subjectsFor(config.SUBJECT_PREFIX),
    prices: new PriceTable(config.MODEL_PRICES),
    billing: config.MONETIZATION_ENABLED,
  });
  let draining = false;
  const ops = await startOpsServer({ port: config.PORT, host: config.HOST, metrics, isReady: () => bus.connected && !draining });
  emitter.start();
  logger.info({ ops_port: ops.address.port, nats: config.NATS_URL }, 'usage-emitter running');

  onShutdown(async (signal) => {
    draining = true;
    logger.info({ signal }, 'usage-emitter draining');
    await emitter.stop();
    await bus.drain();
    await store.close();
    await ops.close();
    logger.info('usage-emitter stopped');
  }, (error) => logger.error({ error: String(error) }, 'usage-emitter did not stop cleanly'), () => flushLogger(logger));
}

void main().catch((error: unknown) => {
  process.stderr.write(`usage-emitter failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
