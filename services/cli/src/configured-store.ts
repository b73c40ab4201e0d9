// The chat store the configuration names (MONGODB_URI, else SQLite under DATA_DIR), as the
// commands that read it open it: a store that cannot be opened is a configuration error.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '@mozaiks/common';
import { ConfigError } from '@mozaiks/config';
import type { RuntimeConfig } from '@mozaiks/config';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';

/** @throws ConfigError naming the setting when the store cannot be opened. */
export async function openConfiguredStore(config: RuntimeConfig): Promise<ChatStores> {
  try {
    return await openStore({
      dataDir: config.DATA_DIR,
      ...(config.MONGODB_URI ? { mongodbUri: config.MONGODB_URI, mongodbDatabase: config.MONGODB_DATABASE } : {}),
    });
  } catch (error) {
    throw new ConfigError([
      `${config.MONGODB_URI ? 'MONGODB_URI' : 'DATA_DIR'}: the chat store cannot be opened (${errorMessage(error)})`,
    ]);
  }
}

/** Whether the configured store exists already, so a command that only looks does not create one. */
export function configuredStoreExists(config: RuntimeConfig): boolean {
  return Boolean(config.MONGODB_URI) || existsSync(path.resolve(config.DATA_DIR, 'mozaiks.sqlite'));
}
