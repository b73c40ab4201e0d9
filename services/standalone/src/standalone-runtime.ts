// The whole runtime in one process: the gateway, executor, tool-runner and usage-emitter that the
// distributed services run, built by the same functions from the same configuration, over the
// in-memory bus and the store the configuration names (SQLite under DATA_DIR by default).
import type { AddressInfo } from 'node:net';
import { MemoryBus } from '@mozaiks/bus';
import type { RuntimeConfig } from '@mozaiks/config';
import { executorFromConfig, llmFromConfig, startChatRetentionFromConfig } from '@mozaiks/executor';
import { gatewayFromConfig } from '@mozaiks/gateway';
import { startRetention, storeFromConfig } from '@mozaiks/service';
import type { ChatStores } from '@mozaiks/store';
import { RuntimeMetrics } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { toolRunnerFromConfig } from '@mozaiks/tool-runner';
import { usageEmitterFromConfig } from '@mozaiks/usage-emitter';
import { errorMessage } from '@mozaiks/common';

export interface StandaloneRuntime {
  /** Base HTTP URL (`http://127.0.0.1:8000`). */
  readonly url: string;
  readonly address: AddressInfo;
  readonly bus: MemoryBus;
  readonly stores: ChatStores;
  readonly metrics: RuntimeMetrics;
  /** Sets the token the console at /console starts with. */
  setConsoleToken(token: string): void;
  /** Drains and stops every part, in reverse order of start. */
  stop(): Promise<void>;
}

export interface StandaloneDependencies {
  logger: Logger;
  /** Collect Node process metrics (off in tests that start several runtimes). @default true */
  processMetrics?: boolean;
  /** Where the variables tools declare, and context variables with an `env_var`, take their values (the process environment in `npm start`). @default none */
  toolEnv?: Readonly<Record<string, string | undefined>>;
}

export async function startStandalone(config: RuntimeConfig, deps: StandaloneDependencies): Promise<StandaloneRuntime> {
  const { logger } = deps;
  const metrics = new RuntimeMetrics({ processMetrics: deps.processMetrics ?? true });
  const bus = new MemoryBus({
    onError: (error, subject) => logger.error({ subject, error: errorText(error) }, 'bus handler failed'),
  });
  const stores = await storeFromConfig(config);
  const { llm, demo } = await llmFromConfig(config, logger);

  const toolRunner = toolRunnerFromConfig(config, {
    bus,
    metrics,
    logger: logger.child({ component: 'tool-runner' }),
    toolEnv: deps.toolEnv ?? {},
  });
  const emitter = usageEmitterFromConfig(config, {
    bus,
    metrics,
    logger: logger.child({ component: 'usage-emitter' }),
  });
  const executor = executorFromConfig(config, {
    bus,
    stores,
    llm,
    metrics,
    logger: logger.child({ component: 'executor' }),
    ...(deps.toolEnv ? { env: deps.toolEnv } : {}),
  });
  const gateway = gatewayFromConfig(config, {
    bus,
    stores,
    metrics,
    logger: logger.child({ component: 'gateway' }),
    isReady: () => stores.healthy(),
    consoleByDefault: true,
  });

  toolRunner.start();
  await emitter.start();
  await executor.start();
  const stopRetention = startRetention(stores, config.EVENT_RETENTION_DAYS, logger);
  const stopChatRetention = startChatRetentionFromConfig(config, {
    bus,
    stores,
    metrics,
    logger: logger.child({ component: 'executor' }),
  });
  const address = await gateway.listen(config.PORT, config.HOST);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    address,
    bus,
    stores,
    metrics,
    setConsoleToken: (token) => void (gateway.consoleToken = token),
    stop: async () => {
      stopRetention();
      stopChatRetention();
      await gateway.stop();
      await executor.stop();
      // Runs that just finished still have usage to deliver: let the bus carry it out.
      await bus.drain();
      await emitter.stop();
      await toolRunner.stop();
      await stores.close();
      await demo?.close();
    },
  };
}

function errorText(error: unknown): string {
  return errorMessage(error);
}
