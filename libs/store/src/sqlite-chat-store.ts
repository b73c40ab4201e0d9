// The embedded ChatStore: one SQLite file (WAL), shared safely by the processes of one host.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ServerEvent, Tenant } from '@mozaiks/protocol';
import { ChatNotFoundError } from './chat-store.js';
import type { ChatRecord, ChatStore, Commit, NewEvent, NewInput, PendingInput, RunRecord, StoredMessage } from './chat-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chats (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL, created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
  next_message INTEGER NOT NULL DEFAULT 0, context TEXT,
  PRIMARY KEY (app_id, user_id, chat_id)
);
CREATE TABLE IF NOT EXISTS input_requests (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  request_id TEXT NOT NULL, agent TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS inputs (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  input_seq INTEGER NOT NULL, request_id TEXT NOT NULL, body TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  PRIMARY KEY (app_id, user_id, chat_id, input_seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS inputs_by_request ON inputs (app_id, user_id, chat_id, request_id);
CREATE TABLE IF NOT EXISTS runs (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  run_id TEXT NOT NULL, input_seq INTEGER NOT NULL, workflow_id TEXT NOT NULL,
  status TEXT NOT NULL, calls TEXT NOT NULL DEFAULT '[]', max_tokens INTEGER,
  finished_at TEXT, usage_published INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, user_id, chat_id, run_id)
);
CREATE INDEX IF NOT EXISTS inputs_pending ON inputs (app_id, user_id, chat_id, input_seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS runs_unpublished ON runs (app_id, user_id, chat_id, input_seq) WHERE usage_published = 0;
CREATE TABLE IF NOT EXISTS leases (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  holder TEXT NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, user_id, chat_id)
);
`;

interface RunRow {
  app_id: string; user_id: string; chat_id: string; run_id: string; input_seq: number; workflow_id: string;
  status: RunRecord['status']; calls: string; max_tokens: number | null; finished_at: string | null; usage_published: number;
}

function toRun(row: RunRow): RunRecord {
  return {
    run_id: row.run_id, app_id: row.app_id, user_id: row.user_id, chat_id: row.chat_id, workflow_id: row.workflow_id,
    input_seq: row.input_seq, status: row.status, calls: JSON.parse(row.calls) as RunRecord['calls'],
    ...(row.max_tokens === null ? {} : { max_tokens: row.max_tokens }),
    ...(row.finished_at === null ? {} : { finished_at: row.finished_at }),
    usage_published: row.usage_published === 1,
  };
}

export interface SqliteChatStoreOptions {
  /** Folder for the database file; created if missing. */
  dataDir: string;
  /** File name inside `dataDir`. @default 'mozaiks.sqlite' */
  fileName?: string;
}

export class SqliteChatStore implements ChatStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(options: SqliteChatStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.file = path.resolve(options.dataDir, options.fileName ?? 'mozaiks.sqlite');
    this.db = new Database(this.file);
    // Several processes of one host may open a new database at once (switching it to WAL, creating
    // the schema): let SQLite wait for the lock while setting up.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    // Databases made before chats had context variables gain the column.
    const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').all('chats') as { name: string }[];
    if (!columns.some((c) => c.name === 'context')) this.db.exec('ALTER TABLE chats ADD COLUMN context TEXT');
    // From now on a busy database is retried by `attempt`, which yields to the event loop instead
    // of sleeping in SQLite for a millisecond or more with the whole process blocked.
    this.db.pragma('busy_timeout = 0');
  }

  /** Runs `work`, again and again while another process holds the write lock, for up to 5 s. */
  private async attempt<T>(work: () => T): Promise<T> {
    const deadline = Date.now() + 5000;
    for (let tries = 0; ; tries++) {
      try {
        return work();
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await (tries < 20 ? new Promise((resolve) => setImmediate(resolve)) : new Promise((resolve) => setTimeout(resolve, 1)));
      }
    }
  }

  /** `work` as one write transaction (taking the write lock at once), retried while busy. */
  private write<T>(work: () => T): Promise<T> {
    return this.attempt(() => this.db.transaction(work).immediate());
  }

  async ensureChat(t: Tenant, chatId: string, workflowId: string): Promise<ChatRecord> {
    return this.write(() => {
      this
        .sql('INSERT OR IGNORE INTO chats (app_id, user_id, chat_id, workflow_id, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(t.app_id, t.user_id, chatId, workflowId, new Date().toISOString());
      return this.chat(t, chatId)!;
    });
  }

  async getChat(t: Tenant, chatId: string): Promise<ChatRecord | undefined> {
    return this.attempt(() => this.chat(t, chatId));
  }

  private insertMessages(t: Tenant, chatId: string, messages: readonly StoredMessage[]): void {
    const row = this
      .sql('UPDATE chats SET next_message = next_message + ? WHERE app_id = ? AND user_id = ? AND chat_id = ? RETURNING next_message')
      .get(messages.length, t.app_id, t.user_id, chatId) as { next_message: number } | undefined;
    if (!row) throw new ChatNotFoundError(t, chatId);
    const insert = this.sql('INSERT INTO messages (app_id, user_id, chat_id, idx, body, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    const first = row.next_message - messages.length;
    const now = new Date().toISOString();
    messages.forEach((m, i) => insert.run(t.app_id, t.user_id, chatId, first + i, JSON.stringify(m), now));
  }

  async openInputRequest(t: Tenant, chatId: string): Promise<{ request_id: string; agent: string } | undefined> {
    return this.attempt(() => this.sql('SELECT request_id, agent FROM input_requests WHERE app_id = ? AND user_id = ? AND chat_id = ?').get(t.app_id, t.user_id, chatId) as
      | { request_id: string; agent: string }
      | undefined);
  }

  async answerInputRequest(t: Tenant, chatId: string, requestId: string, input: NewInput): Promise<PendingInput | undefined> {
    return this.write((): PendingInput | undefined => {
      const open = this.sql('SELECT request_id, agent FROM input_requests WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ?').get(t.app_id, t.user_id, chatId, requestId) as
        | { request_id: string; agent: string }
        | undefined;
      if (!open) return undefined;
      this.sql('DELETE FROM input_requests WHERE app_id = ? AND user_id = ? AND chat_id = ?').run(t.app_id, t.user_id, chatId);
      return this.insertInput(t, chatId, { ...input, kind: 'input', answers: open });
    });
  }

  private insertInput(t: Tenant, chatId: string, input: NewInput): PendingInput {
    this.sql('INSERT OR IGNORE INTO chats (app_id, user_id, chat_id, workflow_id, created_at) VALUES (?, ?, ?, ?, ?)').run(t.app_id, t.user_id, chatId, input.workflow_id, new Date().toISOString());
    const existing = this.sql('SELECT input_seq FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ?').get(t.app_id, t.user_id, chatId, input.request_id) as
      | { input_seq: number }
      | undefined;
    if (existing) return { ...input, input_seq: existing.input_seq };
    const { next } = this.sql('SELECT COALESCE(MAX(input_seq), 0) + 1 AS next FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ?').get(t.app_id, t.user_id, chatId) as { next: number };
    this.sql('INSERT INTO inputs (app_id, user_id, chat_id, input_seq, request_id, body) VALUES (?, ?, ?, ?, ?, ?)').run(t.app_id, t.user_id, chatId, next, input.request_id, JSON.stringify(input));
    return { ...input, input_seq: next };
  }

  async enqueueInput(t: Tenant, chatId: string, input: NewInput): Promise<PendingInput> {
    // Already queued (the usual case when the executor confirms the gateway's insert): no write lock.
    const queued = await this.attempt(
      () => this.sql('SELECT input_seq FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ?').get(t.app_id, t.user_id, chatId, input.request_id) as { input_seq: number } | undefined,
    );
    if (queued) return { ...input, input_seq: queued.input_seq };
    return this.write(() => this.insertInput(t, chatId, input));
  }

  async cancelInput(t: Tenant, chatId: string, requestId: string): Promise<void> {
    await this.write(() => this
      .sql(`UPDATE inputs SET state = 'cancelled' WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ? AND state = 'pending'
        AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.app_id = inputs.app_id AND r.user_id = inputs.user_id AND r.chat_id = inputs.chat_id AND r.input_seq = inputs.input_seq)`)
      .run(t.app_id, t.user_id, chatId, requestId));
  }

  async nextInput(t: Tenant, chatId: string): Promise<PendingInput | undefined> {
    const row = await this.attempt(() => this
      .sql(`SELECT input_seq, body FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND state = 'pending' ORDER BY input_seq LIMIT 1`)
      .get(t.app_id, t.user_id, chatId) as { input_seq: number; body: string } | undefined);
    return row ? { ...(JSON.parse(row.body) as NewInput), input_seq: row.input_seq } : undefined;
  }

  async inputOf(t: Tenant, chatId: string, inputSeq: number): Promise<PendingInput | undefined> {
    const row = await this.attempt(() => this
      .sql('SELECT input_seq, body FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND input_seq = ?')
      .get(t.app_id, t.user_id, chatId, inputSeq) as { input_seq: number; body: string } | undefined);
    return row ? { ...(JSON.parse(row.body) as NewInput), input_seq: row.input_seq } : undefined;
  }

  async getRun(t: Tenant, chatId: string, runId: string): Promise<RunRecord | undefined> {
    const row = await this.attempt(() => this.sql('SELECT * FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?').get(t.app_id, t.user_id, chatId, runId) as RunRow | undefined);
    return row ? toRun(row) : undefined;
  }

  async runsAwaitingUsage(t: Tenant, chatId: string): Promise<RunRecord[]> {
    const rows = await this.attempt(() => this
      .sql(`SELECT * FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND status != 'running' AND usage_published = 0 ORDER BY input_seq`)
      .all(t.app_id, t.user_id, chatId) as RunRow[]);
    return rows.map(toRun);
  }

  async markUsagePublished(t: Tenant, chatId: string, runId: string): Promise<void> {
    await this.write(() => this.sql('UPDATE runs SET usage_published = 1 WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?').run(t.app_id, t.user_id, chatId, runId));
  }

  async commit(t: Tenant, chatId: string, change: Commit): Promise<ServerEvent[]> {
    return this.write((): ServerEvent[] => {
      if (change.messages?.length) this.insertMessages(t, chatId, change.messages);
      if (change.context) {
        this.sql('UPDATE chats SET context = ? WHERE app_id = ? AND user_id = ? AND chat_id = ?').run(JSON.stringify(change.context), t.app_id, t.user_id, chatId);
      }
      if (change.awaitInput) {
        this.sql('INSERT OR REPLACE INTO input_requests (app_id, user_id, chat_id, request_id, agent) VALUES (?, ?, ?, ?, ?)')
          .run(t.app_id, t.user_id, chatId, change.awaitInput.request_id, change.awaitInput.agent);
      }
      const events = (change.events ?? []).map((e) => this.insertEvent(t, chatId, e));
      const run = change.run;
      if (run) {
        this.sql(`INSERT OR IGNORE INTO runs (app_id, user_id, chat_id, run_id, input_seq, workflow_id, status, max_tokens) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`)
          .run(t.app_id, t.user_id, chatId, run.run_id, run.input.input_seq, run.input.workflow_id, run.input.max_tokens ?? null);
        const row = this.sql('SELECT calls, input_seq FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?').get(t.app_id, t.user_id, chatId, run.run_id) as
          | { calls: string; input_seq: number }
          | undefined;
        if (!row) throw new Error(`no run ${run.run_id} in chat ${chatId}`);
        if (run.calls?.length) {
          const calls = [...(JSON.parse(row.calls) as unknown[]), ...run.calls];
          this.sql('UPDATE runs SET calls = ? WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?').run(JSON.stringify(calls), t.app_id, t.user_id, chatId, run.run_id);
        }
        if (run.finish) {
          this.db
            .prepare('UPDATE runs SET status = ?, finished_at = ? WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?')
            .run(run.finish, new Date().toISOString(), t.app_id, t.user_id, chatId, run.run_id);
          this.sql(`UPDATE inputs SET state = 'done' WHERE app_id = ? AND user_id = ? AND chat_id = ? AND input_seq = ?`).run(t.app_id, t.user_id, chatId, row.input_seq);
        }
      }
      return events;
    });
  }

  async acquireLease(t: Tenant, chatId: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const row = await this.write(() => this
      .sql(`INSERT INTO leases (app_id, user_id, chat_id, holder, expires_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (app_id, user_id, chat_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
        RETURNING holder`)
      .get(t.app_id, t.user_id, chatId, holder, now + ttlMs, now) as { holder: string } | undefined);
    return row?.holder === holder;
  }

  async chatsWithPendingWork(): Promise<ChatRecord[]> {
    return this.attempt(() => this
      .sql(`SELECT c.app_id, c.user_id, c.chat_id, c.workflow_id, c.created_at, c.last_seq FROM chats c
        WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.app_id = c.app_id AND l.user_id = c.user_id AND l.chat_id = c.chat_id AND l.expires_at > ?)
        AND (EXISTS (SELECT 1 FROM inputs i WHERE i.app_id = c.app_id AND i.user_id = c.user_id AND i.chat_id = c.chat_id AND i.state = 'pending')
           OR EXISTS (SELECT 1 FROM runs r WHERE r.app_id = c.app_id AND r.user_id = c.user_id AND r.chat_id = c.chat_id AND r.status != 'running' AND r.usage_published = 0))`)
      .all(Date.now()) as ChatRecord[]);
  }

  async releaseLease(t: Tenant, chatId: string, holder: string): Promise<void> {
    await this.write(() => this.sql('DELETE FROM leases WHERE app_id = ? AND user_id = ? AND chat_id = ? AND holder = ?').run(t.app_id, t.user_id, chatId, holder));
  }

  async listMessages(t: Tenant, chatId: string): Promise<StoredMessage[]> {
    const rows = await this.attempt(() => this
      .sql('SELECT body FROM messages WHERE app_id = ? AND user_id = ? AND chat_id = ? ORDER BY idx')
      .all(t.app_id, t.user_id, chatId) as { body: string }[]);
    return rows.map((r) => JSON.parse(r.body) as StoredMessage);
  }

  async appendEvent(t: Tenant, chatId: string, event: NewEvent): Promise<ServerEvent> {
    return this.write(() => this.insertEvent(t, chatId, event));
  }

  private insertEvent(t: Tenant, chatId: string, event: NewEvent): ServerEvent {
    const existing = this
      .sql('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND event_id = ?')
      .get(t.app_id, t.user_id, chatId, event.event_id) as { body: string } | undefined;
    if (existing) return JSON.parse(existing.body) as ServerEvent;
    const row = this
      .sql('UPDATE chats SET last_seq = last_seq + 1 WHERE app_id = ? AND user_id = ? AND chat_id = ? RETURNING last_seq')
      .get(t.app_id, t.user_id, chatId) as { last_seq: number } | undefined;
    if (!row) throw new ChatNotFoundError(t, chatId);
    const stored = { ...event, seq: row.last_seq } as ServerEvent;
    this
      .sql('INSERT INTO events (app_id, user_id, chat_id, seq, event_id, type, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(t.app_id, t.user_id, chatId, stored.seq, event.event_id, event.type, JSON.stringify(stored));
    return stored;
  }

  async listEvents(t: Tenant, chatId: string, afterSeq = 0): Promise<ServerEvent[]> {
    const rows = await this.attempt(() => this
      .sql('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND seq > ? ORDER BY seq')
      .all(t.app_id, t.user_id, chatId, afterSeq) as { body: string }[]);
    return rows.map((r) => JSON.parse(r.body) as ServerEvent);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** A prepared statement, compiled once per store: preparing costs more than most queries. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private chat(t: Tenant, chatId: string): ChatRecord | undefined {
    const row = this
      .sql('SELECT app_id, user_id, chat_id, workflow_id, created_at, last_seq, context FROM chats WHERE app_id = ? AND user_id = ? AND chat_id = ?')
      .get(t.app_id, t.user_id, chatId) as (Omit<ChatRecord, 'context'> & { context: string | null }) | undefined;
    if (!row) return undefined;
    const { context, ...chat } = row;
    return context === null ? chat : { ...chat, context: JSON.parse(context) as Record<string, unknown> };
  }
}
