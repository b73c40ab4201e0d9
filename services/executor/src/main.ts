// `npm run executor`: the executor service's composition root. Takes run requests from NATS, runs
// workflows against the LLM endpoint, asks the tool-runner for tools; ops endpoints on PORT (8001).
import { subjects } from '@mozaiks/protocol';
import { runService } from '@mozaiks/service';
import { SqliteChatStore } from '@mozaiks/store';
import { Executor } from './executor.js';
import { llmFromConfig } from './from-config.js';

runService('executor', { defaultPort: 8001 }, async ({ config, logger, metrics, bus }) => {
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const { llm, demo } = await llmFromConfig(config, logger);
  const executor = new Executor({
    bus, store, llm, metrics, logger,
    subjects: subjects(config.SUBJECT_PREFIX),
    workflowsDir: config.WORKFLOWS_DIR,
    contextAware: config.CONTEXT_AWARE,
    toolTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
    leaseMs: config.CHAT_LEASE_SECONDS * 1000,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
  });
  await executor.start();
  return {
    info: { executor_id: executor.id },
    // Finishes runs for the grace period, then hands the rest back to other executors.
    stop: () => executor.stop(),
    close: async () => {
      await store.close();
      await demo?.close();
    },
  };
});
