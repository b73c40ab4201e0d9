// `npm run tool-runner`: the tool-runner service's composition root. Answers tool requests from
// NATS (queue group `tool-runner`) with tool code run out of process; ops endpoints on PORT (8002).
import { connectRuntimeBus } from '@mozaiks/bus';
import { loadServiceConfig, onShutdown } from '@mozaiks/config';
import { subjects as subjectsFor } from '@mozaiks/protocol';
import { RuntimeMetrics, createLogger, flushLogger, startOpsServer, toPinoLevel } from '@mozaiks/telemetry';
import { ToolRunner } from './tool-runner.js';

async function main(): Promise<void> {
  const config = loadServiceConfig('tool-runner', { defaultPort: 8002, needsNats: true });
  const logger = createLogger({ service: 'tool-runner', level: toPinoLevel(config.LOG_LEVEL) ?? 'info', secrets: [config.OPENAI_API_KEY, config.JWT_SECRET, config.MONGODB_URI] });
  const metrics = new RuntimeMetrics();
  const bus = await connectRuntimeBus({
    servers: config.NATS_URL!, prefix: config.SUBJECT_PREFIX, service: 'tool-runner', ackWaitMs: config.RUN_ACK_WAIT_SECONDS * 1000,
    onError: (error, subject) => logger.error({ subject, error: String(error) }, 'bus handler failed'),
  });
  const runner = new ToolRunner({ bus, subjects: subjectsFor(config.SUBJECT_PREFIX), workflowsDir: config.WORKFLOWS_DIR, logger });
  let draining = false;
  const ops = await startOpsServer({ port: config.PORT, host: config.HOST, metrics, isReady: () => bus.connected && !draining });
  runner.start();
  logger.info({ ops_port: ops.address.port, nats: config.NATS_URL }, 'tool-runner running');

  onShutdown(async (signal) => {
    draining = true;
    logger.info({ signal }, 'tool-runner draining: finishing tool calls in flight');
    await runner.stop();
    await bus.drain();
    await ops.close();
    logger.info('tool-runner stopped');
  }, (error) => logger.error({ error: String(error) }, 'tool-runner did not stop cleanly'), () => flushLogger(logger));
}

void main().catch((error: unknown) => {
  process.stderr.write(`tool-runner failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
