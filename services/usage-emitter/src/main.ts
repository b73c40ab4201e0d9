// `npm run usage-emitter`: the usage-emitter service's composition root. Prices raw usage from
// NATS and publishes usage_update to chats and billing subjects; ops endpoints on PORT (8003).
import { PriceTable } from '@mozaiks/llm';
import { subjects } from '@mozaiks/protocol';
import { runService } from '@mozaiks/service';
import { SqliteChatStore } from '@mozaiks/store';
import { UsageEmitter } from './usage-emitter.js';

runService('usage-emitter', { defaultPort: 8003 }, async ({ config, logger, metrics, bus }) => {
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const emitter = new UsageEmitter({
    bus, store, metrics, logger,
    subjects: subjects(config.SUBJECT_PREFIX),
    prices: new PriceTable(config.MODEL_PRICES),
    billing: config.MONETIZATION_ENABLED,
  });
  emitter.start();
  return { stop: () => emitter.stop(), close: () => store.close() };
});
