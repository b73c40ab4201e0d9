// The whole runtime in one process: gateway, executor, tool-runner and usage-emitter, the same
// parts the distributed services run, wired over the in-memory bus and the SQLite store.
import type { AddressInfo } from 'node:net';
import { MemoryBus } from '@mozaiks/bus';
import type { RuntimeConfig } from '@mozaiks/config';
import { Executor, llmFromConfig } from '@mozaiks/executor';
import { Gateway, verifierFromConfig } from '@mozaiks/gateway';
import { PriceTable } from '@mozaiks/llm';
import { subjects as subjectsFor } from '@mozaiks/protocol';
import { SqliteChatStore } from '@mozaiks/store';
import { RuntimeMetrics } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { ToolRunner, toolRunnerLimits } from '@mozaiks/tool-runner';
import { UsageEmitter } from '@mozaiks/usage-emitter';

export interface StandaloneRuntime {
  /** Base HTTP URL (`http://127.0.0.1:8000`). */
  readonly url: string;
  readonly address: AddressInfo;
  readonly bus: MemoryBus;
  readonly store: SqliteChatStore;
  readonly metrics: RuntimeMetrics;
  /** Drains and stops every part, in reverse order of start. */
  stop(): Promise<void>;
}

export interface StandaloneDependencies {
  logger: Logger;
  /** Collect Node process metrics (off in tests that start several runtimes). @default true */
  processMetrics?: boolean;
  /** Where the variables tools declare take their values (the process environment in `npm start`). @default none */
  toolEnv?: Readonly<Record<string, string | undefined>>;
}

export async function startStandalone(config: RuntimeConfig, deps: StandaloneDependencies): Promise<StandaloneRuntime> {
  const { logger } = deps;
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  const metrics = new RuntimeMetrics({ processMetrics: deps.processMetrics ?? true });
  const bus = new MemoryBus({ onError: (error, subject) => logger.error({ subject, error: errorText(error) }, 'bus handler failed') });
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const { llm, demo } = await llmFromConfig(config, logger);
  const verifier = verifierFromConfig(config);

  const toolRunner = new ToolRunner({
    bus, subjects, metrics,
    workflowsDir: config.WORKFLOWS_DIR,
    logger: logger.child({ component: 'tool-runner' }),
    toolEnv: deps.toolEnv ?? {},
    python: config.TOOL_PYTHON,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
    limits: toolRunnerLimits(config),
  });
  const emitter = new UsageEmitter({
    bus, store, subjects, metrics,
    prices: new PriceTable(config.MODEL_PRICES),
    logger: logger.child({ component: 'usage-emitter' }),
    billing: config.MONETIZATION_ENABLED,
  });
  const executor = new Executor({
    bus, store, llm, subjects, metrics,
    workflowsDir: config.WORKFLOWS_DIR,
    logger: logger.child({ component: 'executor' }),
    contextAware: config.CONTEXT_AWARE,
    toolTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
    leaseMs: config.CHAT_LEASE_SECONDS * 1000,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
  });
  const gateway = new Gateway({
    verifier, bus, store, subjects, metrics,
    logger: logger.child({ component: 'gateway' }),
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
  });

  toolRunner.start();
  emitter.start();
  await executor.start();
  const address = await gateway.listen(config.PORT, config.HOST);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    address,
    bus,
    store,
    metrics,
    stop: async () => {
      await gateway.stop();
      await executor.stop();
      // Runs that just finished still have usage to price and emit: let the bus carry it out.
      await bus.drain();
      await emitter.stop();
      await toolRunner.stop();
      await store.close();
      await demo?.close();
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
