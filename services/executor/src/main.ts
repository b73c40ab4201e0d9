// `npm run executor`: the executor service's composition root. Takes run requests from NATS, runs
// workflows against the LLM endpoint, asks the tool-runner for tools; ops endpoints on PORT (8001).
import { connectRuntimeBus } from '@mozaiks/bus';
import { loadServiceConfig, onShutdown } from '@mozaiks/config';
import { subjects as subjectsFor } from '@mozaiks/protocol';
import { SqliteChatStore } from '@mozaiks/store';
import { RuntimeMetrics, createLogger, flushLogger, startOpsServer, toPinoLevel } from '@mozaiks/telemetry';
import { Executor } from './executor.js';
import { llmFromConfig } from './from-config.js';

async function main(): Promise<void> {
  const config = loadServiceConfig('executor', { defaultPort: 8001, needsNats: true });
  const logger = createLogger({ service: 'executor', level: toPinoLevel(config.LOG_LEVEL) ?? 'info', secrets: [config.OPENAI_API_KEY, config.JWT_SECRET, config.MONGODB_URI] });
  const metrics = new RuntimeMetrics();
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const { llm, demo } = await llmFromConfig(config, logger);
  const bus = await connectRuntimeBus({
    servers: config.NATS_URL!, prefix: config.SUBJECT_PREFIX, service: 'executor', ackWaitMs: config.RUN_ACK_WAIT_SECONDS * 1000,
    onError: (error, subject) => logger.error({ subject, error: String(error) }, 'bus handler failed'),
  });
  const executor = new Executor({
    bus, store, llm, metrics, logger,
    subjects: subjectsFor(config.SUBJECT_PREFIX),
    workflowsDir: config.WORKFLOWS_DIR,
    contextAware: config.CONTEXT_AWARE,
    toolTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
    leaseMs: config.CHAT_LEASE_SECONDS * 1000,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
  });
  let draining = false;
  const ops = await startOpsServer({ port: config.PORT, host: config.HOST, metrics, isReady: () => bus.connected && !draining });
  await executor.start();
  logger.info({ executor_id: executor.id, ops_port: ops.address.port, nats: config.NATS_URL }, 'executor running');

  onShutdown(async (signal) => {
    draining = true;
    logger.info({ signal }, 'executor draining: finishing runs in flight, then handing back the rest');
    await executor.stop();
    await bus.drain();
    await store.close();
    await demo?.close();
    await ops.close();
    logger.info('executor stopped');
  }, (error) => logger.error({ error: String(error) }, 'executor did not stop cleanly'), () => flushLogger(logger));
}

void main().catch((error: unknown) => {
  process.stderr.write(`executor failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
