// `npm run executor`: the executor service's composition root. Takes "chat has work" nudges from
// NATS, runs workflows against the LLM endpoint, asks the tool-runner for tools, keeps chats in
// the store (MONGODB_URI, else SQLite under DATA_DIR); ops endpoints on PORT (8001).
import { subjects } from '@mozaiks/protocol';
import { runService, startRetention } from '@mozaiks/service';
import { executorFromConfig, llmFromConfig, startChatRetentionFromConfig } from './from-config.js';
import { executorMetrics } from './metrics.js';

runService('executor', { defaultPort: 8001, store: true }, async ({ config, logger, metrics, bus, stores }) => {
  const { llm, demo } = await llmFromConfig(config, logger);
  const executor = executorFromConfig(config, { bus, stores: stores!, llm, logger, metrics });
  executorMetrics(metrics).watchRunQueue(() => bus.backlog(subjects(config.SUBJECT_PREFIX).allRuns, 'executors'));
  await executor.start();
  const stopRetention = startRetention(stores!, config.EVENT_RETENTION_DAYS, logger);
  const stopChatRetention = startChatRetentionFromConfig(config, { bus, stores: stores!, logger, metrics });
  return {
    info: { executor_id: executor.id },
    // Finishes runs for the grace period, then hands the rest back to other executors.
    stop: async () => {
      stopRetention();
      stopChatRetention();
      await executor.stop();
    },
    close: async () => demo?.close(),
  };
});
