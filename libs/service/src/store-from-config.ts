// The chat store the configuration names, and the retention that prunes it.
import type { RuntimeConfig } from '@mozaiks/config';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import type { Logger } from '@mozaiks/telemetry';
import { errorMessage } from '@mozaiks/common';

/** MongoDB when MONGODB_URI is set (nothing is written under DATA_DIR then), else SQLite under DATA_DIR. */
export function storeFromConfig(config: RuntimeConfig): Promise<ChatStores> {
  return openStore({
    dataDir: config.DATA_DIR,
    ...(config.MONGODB_URI
      ? {
          mongodbUri: config.MONGODB_URI,
          mongodbDatabase: config.MONGODB_DATABASE,
          mongodbMaxPoolSize: config.MONGODB_MAX_POOL_SIZE,
        }
      : {}),
  });
}

/** Prunes events older than EVENT_RETENTION_DAYS now and every hour; returns the stopper. */
export function startRetention(stores: ChatStores, days: number, logger: Logger, intervalMs = 3600_000): () => void {
  if (days <= 0) return () => {};
  const prune = () =>
    stores.prune(days).then(
      (removed) => logger.info({ retention_days: days, ...removed }, 'pruned old events'),
      (error: unknown) => logger.warn({ error: errorMessage(error) }, 'pruning old events failed; retrying later'),
    );
  void prune();
  const timer = setInterval(() => void prune(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
