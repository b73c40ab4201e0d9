// The embedded store's database: one SQLite file (WAL) under DATA_DIR, shared by the ChatLog and
// ChatInbox adapters of the processes of one host. Atomicity comes from SQLite transactions;
// the chat lease's epoch is checked inside every log transaction, so a fenced writer stores nothing.
import path from 'node:path';
import Database from 'better-sqlite3';
import { dataDirProblem } from './data-dir.js';
import { StoreUnavailableError } from '../store-error.js';

/** The schema version this code writes (PRAGMA user_version). */
const SCHEMA_VERSION = 5;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chats (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL, created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
  next_message INTEGER NOT NULL DEFAULT 0, context TEXT,
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
CREATE INDEX IF NOT EXISTS inputs_pending ON inputs (app_id, user_id, chat_id, input_seq) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS runs (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  run_id TEXT NOT NULL, input_seq INTEGER NOT NULL, workflow_id TEXT NOT NULL,
  status TEXT NOT NULL, calls TEXT NOT NULL DEFAULT '[]', max_tokens INTEGER,
  finished_at TEXT, usage_published INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, user_id, chat_id, run_id)
);
CREATE TABLE IF NOT EXISTS workflow_versions (
  workflow_id TEXT NOT NULL, version TEXT NOT NULL, files TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (workflow_id, version)
);
CREATE INDEX IF NOT EXISTS runs_unpublished ON runs (app_id, user_id, chat_id, input_seq) WHERE usage_published = 0;
`;

/** Columns added since the first release, with their definitions. */
const ADDED_COLUMNS: Array<[table: string, column: string, definition: string]> = [
  ['chats', 'awaiting', 'TEXT'],
  ['chats', 'inputs_done', 'INTEGER NOT NULL DEFAULT 0'],
  ['events', 'created_at', 'INTEGER NOT NULL DEFAULT 0'],
  ['runs', 'usage', 'TEXT'],
  // The log's position: steps committed to the chat.
  ['chats', 'steps', 'INTEGER NOT NULL DEFAULT 0'],
  // The workflow version the chat runs, and when a step was last committed to it.
  ['chats', 'workflow_version', 'TEXT'],
  ['chats', 'updated_at', 'TEXT'],
  // When the chat last took an input: what the API over chats lists them by.
  ['chats', 'last_input_at', 'TEXT'],
  // Where a finished run left the chat (its last event, the history's length, the context): a fork point.
  ['runs', 'end_seq', 'INTEGER'],
  ['runs', 'end_messages', 'INTEGER'],
  ['runs', 'end_context', 'TEXT'],
];

/** Lease columns added since leases got their epoch. */
const ADDED_LEASE_COLUMNS: Array<[table: string, column: string, definition: string]> = [
  ['leases', 'position', 'INTEGER NOT NULL DEFAULT 0'],
  ['leases', 'wanted', 'INTEGER NOT NULL DEFAULT 0'],
];

const LEASES = `
CREATE TABLE IF NOT EXISTS leases (
  app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL,
  holder TEXT NOT NULL, epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  released INTEGER NOT NULL DEFAULT 0, inputs_done INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL DEFAULT 0, wanted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, user_id, chat_id)
);
CREATE INDEX IF NOT EXISTS events_by_age ON events (created_at);
`;

export interface SqliteDatabaseOptions {
  /** Folder for the database file; created if missing. */
  dataDir: string;
  /** File name inside `dataDir`. @default 'mozaiks.sqlite' */
  fileName?: string;
}

export class SqliteDatabase {
  readonly file: string;
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** One transaction wrapper for every unit of work: better-sqlite3 builds one per `transaction` call. */
  private readonly transaction: Database.Transaction<(work: () => unknown) => unknown>;

  /** @throws StoreUnavailableError naming the file and the cause when it cannot be opened or written. */
  constructor(options: SqliteDatabaseOptions) {
    this.file = path.resolve(options.dataDir, options.fileName ?? 'mozaiks.sqlite');
    const problem = dataDirProblem(path.resolve(options.dataDir), this.file);
    if (problem) throw new StoreUnavailableError(`cannot open the SQLite store at ${this.file} (DATA_DIR): ${problem}`);
    try {
      this.db = new Database(this.file);
      // Several processes of one host may open a new database at once (switching it to WAL, creating
      // the schema): let SQLite wait for the lock while setting up.
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.transaction(() => this.migrate()).immediate();
    } catch (error) {
      const cause =
        error instanceof Error
          ? (error as { code?: string }).code
            ? `${(error as { code?: string }).code}: ${error.message}`
            : error.message
          : String(error);
      throw new StoreUnavailableError(`cannot open the SQLite store at ${this.file} (DATA_DIR): ${cause}`, {
        cause: error,
      });
    }
    // From now on a busy database is retried by `attempt`, which yields to the event loop instead
    // of sleeping in SQLite for a millisecond or more with the whole process blocked.
    this.db.pragma('busy_timeout = 0');
    this.transaction = this.db.transaction((work: () => unknown) => work());
  }

  /** Brings a database of any earlier version to this one; a no-op on a current one. */
  private migrate(): boolean {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version >= SCHEMA_VERSION) return false;
    this.db.exec(SCHEMA);
    this.addColumns(ADDED_COLUMNS);
    if (
      !(this.db.prepare("SELECT name FROM pragma_table_info('chats')").all() as { name: string }[]).some(
        (c) => c.name === 'context',
      )
    ) {
      this.db.exec('ALTER TABLE chats ADD COLUMN context TEXT');
    }
    // Leases before fencing had no epoch: they are short-lived, so they are dropped, not converted.
    const leaseColumns = this.db.prepare("SELECT name FROM pragma_table_info('leases')").all() as { name: string }[];
    if (leaseColumns.length && !leaseColumns.some((c) => c.name === 'epoch')) this.db.exec('DROP TABLE leases');
    // Open input requests moved onto the chat row.
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'input_requests'").get()) {
      this.db
        .exec(`UPDATE chats SET awaiting = (SELECT json_object('request_id', r.request_id, 'agent', r.agent) FROM input_requests r
        WHERE r.app_id = chats.app_id AND r.user_id = chats.user_id AND r.chat_id = chats.chat_id); DROP TABLE input_requests;`);
    }
    this.db.exec(LEASES);
    this.addColumns(ADDED_LEASE_COLUMNS);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return true;
  }

  private addColumns(added: ReadonlyArray<[table: string, column: string, definition: string]>): void {
    for (const [table, column, definition] of added) {
      const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
      if (!columns.some((c) => c.name === column))
        this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
  }

  /** Whether the schema was already current (for `store migrate`, which reports what it changed). */
  static migrateFile(options: SqliteDatabaseOptions): { changed: boolean } {
    const file = path.resolve(options.dataDir, options.fileName ?? 'mozaiks.sqlite');
    const problem = dataDirProblem(path.resolve(options.dataDir), file);
    if (problem) throw new StoreUnavailableError(`cannot open the SQLite store at ${file} (DATA_DIR): ${problem}`);
    const db = new Database(file);
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      db.close();
      void new SqliteDatabase(options).close();
      return { changed: version < SCHEMA_VERSION };
    } finally {
      if (db.open) db.close();
    }
  }

  /** Runs `work`, again and again while another process holds the write lock, for up to 5 s. */
  async attempt<T>(work: () => T): Promise<T> {
    const deadline = Date.now() + 5000;
    for (let tries = 0; ; tries++) {
      try {
        return work();
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await (tries < 20
          ? new Promise((resolve) => setImmediate(resolve))
          : new Promise((resolve) => setTimeout(resolve, 1)));
      }
    }
  }

  /** `work` as one write transaction (taking the write lock at once), retried while busy. */
  write<T>(work: () => T): Promise<T> {
    return this.attempt(() => this.transaction.immediate(work) as T);
  }

  /** `work` as one read transaction: a consistent view across several queries. */
  read<T>(work: () => T): Promise<T> {
    return this.attempt(() => this.transaction.deferred(work) as T);
  }

  /** A prepared statement, compiled once per database: preparing costs more than most queries. */
  sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Deletes persisted events, and runs whose usage was published, older than `days`. Messages are
   * never pruned, and the usage outbox keeps its own copy of each event until it is published.
   */
  async prune(days: number): Promise<{ events: number; runs: number }> {
    const cutoff = Date.now() - days * 24 * 3600_000;
    return this.write(() => ({
      events: this.sql('DELETE FROM events WHERE created_at < ?').run(cutoff).changes,
      runs: this.sql("DELETE FROM runs WHERE usage_published = 1 AND status != 'running' AND finished_at < ?").run(
        new Date(cutoff).toISOString(),
      ).changes,
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
