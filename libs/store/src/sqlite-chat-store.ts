// The embedded ChatStore: one SQLite file (WAL), shared safely by the processes of one host.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ServerEvent, Tenant } from '@mozaiks/protocol';
import { ChatNotFoundError } from './chat-store.js';
import type { ChatRecord, ChatStore, NewEvent, StoredMessage } from './chat-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chats (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL, created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
  next_message INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, user_id, chat_id)
);
CREATE TABLE IF NOT EXISTS messages (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  idx INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (app_id, user_id, chat_id, idx)
);
CREATE TABLE IF NOT EXISTS events (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  seq INTEGER NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (app_id, user_id, chat_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (app_id, user_id, chat_id, event_id);
`;

export interface SqliteChatStoreOptions {
  /** Folder for the database file; created if missing. */
  dataDir: string;
  /** File name inside `dataDir`. @default 'mozaiks.sqlite' */
  fileName?: string;
}

export class SqliteChatStore implements ChatStore {
  readonly file: string;
  private readonly db: Database.Database;

  constructor(options: SqliteChatStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.file = path.resolve(options.dataDir, options.fileName ?? 'mozaiks.sqlite');
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Several processes of one host may write; wait for the lock rather than fail.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  async ensureChat(t: Tenant, chatId: string, workflowId: string): Promise<ChatRecord> {
    this.db
      .prepare('INSERT OR IGNORE INTO chats (app_id, user_id, chat_id, workflow_id, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.app_id, t.user_id, chatId, workflowId, new Date().toISOString());
    return this.chat(t, chatId)!;
  }

  async getChat(t: Tenant, chatId: string): Promise<ChatRecord | undefined> {
    return this.chat(t, chatId);
  }

  async appendMessages(t: Tenant, chatId: string, messages: readonly StoredMessage[]): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      const row = this.db
        .prepare('UPDATE chats SET next_message = next_message + ? WHERE app_id = ? AND user_id = ? AND chat_id = ? RETURNING next_message')
        .get(messages.length, t.app_id, t.user_id, chatId) as { next_message: number } | undefined;
      if (!row) throw new ChatNotFoundError(t, chatId);
      const insert = this.db.prepare('INSERT INTO messages (app_id, user_id, chat_id, idx, body, created_at) VALUES (?, ?, ?, ?, ?, ?)');
      const first = row.next_message - messages.length;
      messages.forEach((m, i) => insert.run(t.app_id, t.user_id, chatId, first + i, JSON.stringify(m), now));
    }).immediate();
  }

  async listMessages(t: Tenant, chatId: string): Promise<StoredMessage[]> {
    const rows = this.db
      .prepare('SELECT body FROM messages WHERE app_id = ? AND user_id = ? AND chat_id = ? ORDER BY idx')
      .all(t.app_id, t.user_id, chatId) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as StoredMessage);
  }

  async appendEvent(t: Tenant, chatId: string, event: NewEvent): Promise<ServerEvent> {
    return this.db.transaction((): ServerEvent => {
      const existing = this.db
        .prepare('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND event_id = ?')
        .get(t.app_id, t.user_id, chatId, event.event_id) as { body: string } | undefined;
      if (existing) return JSON.parse(existing.body) as ServerEvent;
      const row = this.db
        .prepare('UPDATE chats SET last_seq = last_seq + 1 WHERE app_id = ? AND user_id = ? AND chat_id = ? RETURNING last_seq')
        .get(t.app_id, t.user_id, chatId) as { last_seq: number } | undefined;
      if (!row) throw new ChatNotFoundError(t, chatId);
      const stored = { ...event, seq: row.last_seq } as ServerEvent;
      this.db
        .prepare('INSERT INTO events (app_id, user_id, chat_id, seq, event_id, type, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(t.app_id, t.user_id, chatId, stored.seq, event.event_id, event.type, JSON.stringify(stored));
      return stored;
    }).immediate();
  }

  async listEvents(t: Tenant, chatId: string, afterSeq = 0): Promise<ServerEvent[]> {
    const rows = this.db
      .prepare('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND seq > ? ORDER BY seq')
      .all(t.app_id, t.user_id, chatId, afterSeq) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as ServerEvent);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private chat(t: Tenant, chatId: string): ChatRecord | undefined {
    return this.db
      .prepare('SELECT app_id, user_id, chat_id, workflow_id, created_at, last_seq FROM chats WHERE app_id = ? AND user_id = ? AND chat_id = ?')
      .get(t.app_id, t.user_id, chatId) as ChatRecord | undefined;
  }
}
