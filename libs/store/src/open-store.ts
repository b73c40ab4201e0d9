// Opens the store the configuration names: MongoDB when a connection string is given (many hosts),
// else the embedded SQLite file under the data folder (one host).
import type { ChatCatalog } from './chat-catalog.js';
import type { ChatInbox } from './chat-inbox.js';
import type { ChatLog } from './chat-log.js';
import { MongoChatCatalog } from './mongo/mongo-chat-catalog.js';
import { MongoChatInbox } from './mongo/mongo-chat-inbox.js';
import { MongoChatLog } from './mongo/mongo-chat-log.js';
import { MongoDatabase } from './mongo/mongo-database.js';
import { SqliteChatCatalog } from './sqlite/sqlite-chat-catalog.js';
import { SqliteChatInbox } from './sqlite/sqlite-chat-inbox.js';
import { SqliteChatLog } from './sqlite/sqlite-chat-log.js';
import { SqliteDatabase } from './sqlite/sqlite-database.js';
import { SqliteWorkflowVersions } from './sqlite/sqlite-workflow-versions.js';
import { MongoWorkflowVersions } from './mongo/mongo-workflow-versions.js';
import type { WorkflowVersionStore } from './workflow-version-store.js';

export interface StoreOptions {
  /** MongoDB connection string (MONGODB_URI); unset: SQLite under `dataDir`. */
  mongodbUri?: string;
  /** @default 'mozaiks_runtime' */
  mongodbDatabase?: string;
  /** Connections per MongoDB server. @default 20 */
  mongodbMaxPoolSize?: number;
  /** Folder of the SQLite file (DATA_DIR); untouched when MongoDB is used. */
  dataDir: string;
}

/** A chat store: its two ports over one database. */
export interface ChatStores {
  readonly kind: 'sqlite' | 'mongodb';
  /** Where the data is, for logs: the file, or the MongoDB hosts (never the password). */
  readonly location: string;
  readonly log: ChatLog;
  readonly inbox: ChatInbox;
  readonly versions: WorkflowVersionStore;
  /** Many chats of an app at once, for the API over chats. */
  readonly catalog: ChatCatalog;
  /** Whether the database answered lately (for /ready). */
  healthy(): boolean;
  /** Removes persisted events older than `days`; never messages nor usage still to publish. */
  prune(days: number): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** @throws StoreUnavailableError (MongoDB) naming the host when it cannot be reached. */
export async function openStore(options: StoreOptions): Promise<ChatStores> {
  if (options.mongodbUri) {
    const database = await MongoDatabase.connect({
      uri: options.mongodbUri,
      ...(options.mongodbDatabase ? { database: options.mongodbDatabase } : {}),
      ...(options.mongodbMaxPoolSize ? { maxPoolSize: options.mongodbMaxPoolSize } : {}),
    });
    database.startProbe();
    return {
      kind: 'mongodb',
      location: `mongodb://${database.hosts}/${database.db.databaseName}`,
      log: new MongoChatLog(database),
      inbox: new MongoChatInbox(database),
      versions: new MongoWorkflowVersions(database),
      catalog: new MongoChatCatalog(database),
      healthy: () => database.isHealthy,
      prune: (days) => database.prune(days),
      close: () => database.close(),
    };
  }
  const database = new SqliteDatabase({ dataDir: options.dataDir });
  return {
    kind: 'sqlite',
    location: database.file,
    log: new SqliteChatLog(database),
    inbox: new SqliteChatInbox(database),
    versions: new SqliteWorkflowVersions(database),
    catalog: new SqliteChatCatalog(database),
    healthy: () => true,
    prune: (days) => database.prune(days),
    close: () => database.close(),
  };
}
