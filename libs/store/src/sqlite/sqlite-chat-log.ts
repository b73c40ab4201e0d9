// The ChatLog on the embedded SQLite database. A step is one transaction that first checks the
// lease's epoch: a writer whose lease was taken over stores nothing. The chat's row counts its
// steps (the log's position), so a writer carried over from the previous one reads only the
// messages added since.
import type { LlmCallUsage, ServerEvent, Tenant } from '@mozaiks/protocol';
import { LeaseLostError } from '../lease.js';
import type {
  ChatLog,
  ChatRecord,
  ChatWriter,
  LogPrefetch,
  LogStep,
  NewEvent,
  RunPart,
  StoredMessage,
  WriterBasis,
} from '../chat-log.js';
import type { Lease } from '../lease.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { TrackedWriter } from '../tracked-writer.js';
import type { WriterState } from '../tracked-writer.js';

/** A row of the SQLite `chats` table. */
export interface ChatRow {
  app_id: string;
  user_id: string;
  chat_id: string;
  workflow_id: string;
  created_at: string;
  last_seq: number;
  context: string | null;
  awaiting: string | null;
  inputs_done: number;
  steps: number;
  workflow_version: string | null;
}

export function toChatRecord(row: ChatRow): ChatRecord {
  const { context, awaiting, steps: _steps, workflow_version, ...chat } = row;
  return {
    ...chat,
    ...(workflow_version === null ? {} : { workflow_version }),
    ...(context === null ? {} : { context: JSON.parse(context) as Record<string, unknown> }),
    ...(awaiting === null ? {} : { awaiting: JSON.parse(awaiting) as ChatRecord['awaiting'] & object }),
  };
}

const CHAT =
  'SELECT app_id, user_id, chat_id, workflow_id, created_at, last_seq, context, awaiting, inputs_done, steps, workflow_version FROM chats WHERE app_id = ? AND user_id = ? AND chat_id = ?';

/** A chat's key columns: app, user, chat. */
type ChatKey = readonly [app_id: string, user_id: string, chat_id: string];

export class SqliteChatLog implements ChatLog {
  constructor(private readonly database: SqliteDatabase) {}

  async getChat(t: Tenant, chatId: string): Promise<ChatRecord | undefined> {
    const row = await this.database.attempt(
      () => this.database.sql(CHAT).get(t.app_id, t.user_id, chatId) as ChatRow | undefined,
    );
    return row && toChatRecord(row);
  }

  async listMessages(t: Tenant, chatId: string): Promise<StoredMessage[]> {
    return this.database.attempt(() => this.messages(t, chatId));
  }

  async listEvents(t: Tenant, chatId: string, afterSeq = 0, limit = -1): Promise<ServerEvent[]> {
    const rows = await this.database.attempt(
      () =>
        this.database
          .sql(
            'SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND seq > ? ORDER BY seq LIMIT ?',
          )
          .all(t.app_id, t.user_id, chatId, afterSeq, limit) as { body: string }[],
    );
    return rows.map((r) => JSON.parse(r.body) as ServerEvent);
  }

  /** Reads are local: nothing is read ahead. */
  async prefetch(tenant: Tenant, chatId: string): Promise<LogPrefetch> {
    return { tenant, chatId };
  }

  async openWriter(lease: Lease, workflowId: string, basis: WriterBasis = {}): Promise<ChatWriter> {
    const { tenant: t, chatId } = lease;
    const db = this.database;
    const carried = TrackedWriter.takeState(basis.previous, lease);
    // A chat's row is made with its first input, so opening a writer is a read, which takes no
    // lock and commits nothing; only a chat without a row is written first.
    let state = await db.read(() => this.writerState(lease, carried));
    if (!state) {
      await db.write(() =>
        db
          .sql('INSERT OR IGNORE INTO chats (app_id, user_id, chat_id, workflow_id, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(t.app_id, t.user_id, chatId, workflowId, new Date().toISOString()),
      );
      state = (await db.read(() => this.writerState(lease, carried)))!;
    }
    return new TrackedWriter(lease, state, (step) => this.append(lease, step));
  }

  /** What a writer of the chat starts from, read under a current lease; undefined when the chat has no row. */
  private writerState(lease: Lease, carried: WriterState | undefined): WriterState | undefined {
    const { tenant: t, chatId } = lease;
    const db = this.database;
    this.checkLease(lease);
    const row = db.sql(CHAT).get(t.app_id, t.user_id, chatId) as ChatRow | undefined;
    if (!row) return undefined;
    // Carried over with nothing committed since: the state is the log's.
    if (carried && carried.position === row.steps) return carried;
    const run = db
      .sql(
        "SELECT run_id, input_seq, calls FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND status = 'running' ORDER BY input_seq DESC LIMIT 1",
      )
      .get(t.app_id, t.user_id, chatId) as { run_id: string; input_seq: number; calls: string } | undefined;
    const known = carried && carried.position < row.steps ? carried.messages : [];
    return {
      chat: toChatRecord(row),
      inputsDone: row.inputs_done,
      messages: known.length ? [...known, ...this.messages(t, chatId, known.length)] : this.messages(t, chatId),
      unfinishedRun: run
        ? { run_id: run.run_id, input_seq: run.input_seq, calls: JSON.parse(run.calls) as LlmCallUsage[] }
        : undefined,
      position: row.steps,
      epoch: 0,
    };
  }

  /** Refuses the transaction unless `lease` is still the chat's current lease. */
  checkLease(lease: Lease): void {
    const row = this.database
      .sql('SELECT holder, epoch FROM leases WHERE app_id = ? AND user_id = ? AND chat_id = ?')
      .get(lease.tenant.app_id, lease.tenant.user_id, lease.chatId) as { holder: string; epoch: number } | undefined;
    if (!row || row.epoch !== lease.epoch || row.holder !== lease.holder) throw new LeaseLostError(lease);
  }

  /**
   * Persists `step` for the holder of `lease`, all or nothing. The chat's row is read once and
   * written once (its counters of messages, events and steps move together), and an event whose
   * id is stored already is found by the insert it makes fail, not looked up before each insert.
   */
  append(lease: Lease, step: LogStep): Promise<{ events: ServerEvent[]; position: number }> {
    const { tenant: t, chatId } = lease;
    const db = this.database;
    const key: ChatKey = [t.app_id, t.user_id, chatId];
    return db.write(() => {
      this.checkLease(lease);
      const counters = db
        .sql('SELECT last_seq, next_message FROM chats WHERE app_id = ? AND user_id = ? AND chat_id = ?')
        .get(...key) as { last_seq: number; next_message: number };
      const nextMessage = this.insertMessages(key, counters.next_message, step.messages ?? []);
      const run = step.run;
      const all = [...(step.events ?? []), ...(run?.usage ? [run.usage as NewEvent] : [])];
      const { events, lastSeq } = this.insertEvents(key, counters.last_seq, all);
      const { steps: position, context } = db
        .sql(
          'UPDATE chats SET awaiting = ?, context = COALESCE(?, context), workflow_version = COALESCE(?, workflow_version), updated_at = ?, steps = steps + 1, last_seq = ?, next_message = ?, inputs_done = MAX(inputs_done, ?) WHERE app_id = ? AND user_id = ? AND chat_id = ? RETURNING steps, context',
        )
        .get(
          step.awaitInput ? JSON.stringify(step.awaitInput) : null,
          step.context ? JSON.stringify(step.context) : null,
          step.workflowVersion ?? null,
          new Date().toISOString(),
          lastSeq,
          nextMessage,
          run?.finish ? run.input_seq : 0,
          ...key,
        ) as { steps: number; context: string | null };
      // A finished run notes where it left the chat: a fork from its end starts from there.
      const end = { seq: lastSeq, messages: nextMessage, context };
      if (run) this.recordRun(key, run, run.usage ? events.at(-1) : undefined, end);
      return { events, position };
    });
  }

  /** Inserts the step's messages after the chat's last; returns the next index. */
  private insertMessages(key: ChatKey, first: number, messages: readonly StoredMessage[]): number {
    let next = first;
    if (messages.length === 0) return next;
    const insert = this.database.sql(
      'INSERT INTO messages (app_id, user_id, chat_id, idx, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    for (const m of messages) insert.run(...key, next++, JSON.stringify(m), now);
    return next;
  }

  /**
   * Inserts the events with the next seqs; an event stored by an earlier attempt of this step
   * comes back as it was stored, with its seq.
   */
  private insertEvents(
    key: ChatKey,
    after: number,
    events: readonly NewEvent[],
  ): { events: ServerEvent[]; lastSeq: number } {
    const db = this.database;
    let lastSeq = after;
    const insertEvent = db.sql(
      'INSERT OR IGNORE INTO events (app_id, user_id, chat_id, seq, event_id, type, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const now = Date.now();
    const stored = events.map((event): ServerEvent => {
      const candidate = { ...event, seq: lastSeq + 1 } as ServerEvent;
      if (
        insertEvent.run(...key, candidate.seq, event.event_id, event.type, JSON.stringify(candidate), now).changes === 1
      ) {
        lastSeq++;
        return candidate;
      }
      const existing = db
        .sql('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? AND event_id = ?')
        .get(...key, event.event_id) as { body: string } | undefined;
      if (!existing)
        throw new Error(
          `event ${event.event_id} (${event.type}) of chat ${key[2]} could not be stored at seq ${candidate.seq}`,
        );
      return JSON.parse(existing.body) as ServerEvent;
    });
    return { events: stored, lastSeq };
  }

  /** The run's row: created with its first step, its calls added, and finished (with its usage in the outbox) by its last. */
  private recordRun(
    key: ChatKey,
    run: RunPart,
    usage: ServerEvent | undefined,
    end: { seq: number; messages: number; context: string | null },
  ): void {
    const db = this.database;
    db.sql(
      "INSERT OR IGNORE INTO runs (app_id, user_id, chat_id, run_id, input_seq, workflow_id, status) VALUES (?, ?, ?, ?, ?, ?, 'running')",
    ).run(...key, run.run_id, run.input_seq, run.workflow_id);
    let calls: string | null = null;
    if (run.calls?.length) {
      const row = db
        .sql('SELECT calls FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?')
        .get(...key, run.run_id) as { calls: string };
      calls = JSON.stringify([...(JSON.parse(row.calls) as unknown[]), ...run.calls]);
    }
    if (run.finish) {
      db.sql(
        'UPDATE runs SET calls = COALESCE(?, calls), status = ?, finished_at = ?, usage = ?, usage_published = ?, end_seq = ?, end_messages = ?, end_context = ? WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?',
      ).run(
        calls,
        run.finish,
        new Date().toISOString(),
        usage ? JSON.stringify(usage) : null,
        usage ? 0 : 1,
        end.seq,
        end.messages,
        end.context,
        ...key,
        run.run_id,
      );
      db.sql(
        "UPDATE inputs SET state = 'done' WHERE app_id = ? AND user_id = ? AND chat_id = ? AND input_seq <= ? AND state = 'pending'",
      ).run(...key, run.input_seq);
    } else if (calls !== null) {
      db.sql('UPDATE runs SET calls = ? WHERE app_id = ? AND user_id = ? AND chat_id = ? AND run_id = ?').run(
        calls,
        ...key,
        run.run_id,
      );
    }
  }

  /** The chat's messages from index `from` on. */
  private messages(t: Tenant, chatId: string, from = 0): StoredMessage[] {
    const rows = this.database
      .sql('SELECT body FROM messages WHERE app_id = ? AND user_id = ? AND chat_id = ? AND idx >= ? ORDER BY idx')
      .all(t.app_id, t.user_id, chatId, from) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as StoredMessage);
  }
}
