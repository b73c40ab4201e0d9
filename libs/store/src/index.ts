// Chat persistence: the ChatStore port and its embedded SQLite adapter.
export { ChatNotFoundError, inputFromRequest } from './chat-store.js';
export type { ChatRecord, ChatStore, Commit, NewEvent, NewInput, PendingInput, RunRecord, StoredMessage } from './chat-store.js';
export { SqliteChatStore } from './sqlite-chat-store.js';
export type { SqliteChatStoreOptions } from './sqlite-chat-store.js';
