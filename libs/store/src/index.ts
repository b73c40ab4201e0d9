// Chat persistence: the ChatLog and ChatInbox ports, their SQLite and MongoDB adapters, and the
// factory that opens the one the configuration names.
export { LeaseLostError } from './lease.js';
export type { Lease, LeaseProgress } from './lease.js';
export type {
  ChatLog,
  ChatRecord,
  ChatRef,
  ChatWriter,
  InputRequest,
  LogPrefetch,
  LogStep,
  NewEvent,
  RunPart,
  StoredMessage,
  UnfinishedRun,
  WriterBasis,
} from './chat-log.js';
export { TITLE_LENGTH, endsRun, titleOf } from './chat-catalog.js';
export type {
  CatalogPosition,
  CatalogQuery,
  ChatCatalog,
  ChatSummary,
  ErasedChat,
  ForkPoint,
  RunStatus,
  StaleChat,
} from './chat-catalog.js';
export { answerRequestId } from './chat-inbox.js';
export type { Accepted, ChatInbox, NewInput, PendingInput, UsageMark } from './chat-inbox.js';
export { openStore } from './open-store.js';
export type { ChatStores, StoreOptions } from './open-store.js';
export { MONGO_INDEXES, MongoDatabase, describeMongoUri } from './mongo/mongo-database.js';
export { StoreUnavailableError } from './store-error.js';
export type { MongoDatabaseOptions } from './mongo/mongo-database.js';
export { MongoChatLog } from './mongo/mongo-chat-log.js';
export { MongoChatInbox } from './mongo/mongo-chat-inbox.js';
export { SqliteDatabase } from './sqlite/sqlite-database.js';
export type { SqliteDatabaseOptions } from './sqlite/sqlite-database.js';
export { SqliteChatLog } from './sqlite/sqlite-chat-log.js';
export { SqliteChatInbox } from './sqlite/sqlite-chat-inbox.js';
export { copySqliteToMongo } from './copy-to-mongo.js';
export type { CopyCounts } from './copy-to-mongo.js';
export type { VersionFiles, VersionUsage, WaitingChat, WorkflowVersionStore } from './workflow-version-store.js';
export { SqliteWorkflowVersions } from './sqlite/sqlite-workflow-versions.js';
export { MongoWorkflowVersions } from './mongo/mongo-workflow-versions.js';
