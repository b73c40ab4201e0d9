// The ChatCatalog on SQLite: one query per page over the chats table, the last run and the first
// message read beside each chat by its key; a chat erased from every table in one transaction.
import type { ServerEvent, Tenant } from '@mozaiks/protocol';
import type { StoredMessage } from '../chat-log.js';
import { endsRun, titleOf } from '../chat-catalog.js';
import type {
  CatalogQuery,
  ChatCatalog,
  ChatSummary,
  ErasedChat,
  RunStatus,
  ForkPoint,
  StaleChat,
} from '../chat-catalog.js';
import type { SqliteDatabase } from './sqlite-database.js';

const ACTIVITY = 'COALESCE(c.last_input_at, c.created_at)';

/** Each chat's summary columns; `WHERE` and the order follow. */
const SUMMARY = `SELECT c.user_id, c.chat_id, c.workflow_id, c.created_at, ${ACTIVITY} AS activity, c.inputs_done,
  (SELECT r.status FROM runs r WHERE r.app_id = c.app_id AND r.user_id = c.user_id AND r.chat_id = c.chat_id
    ORDER BY r.input_seq DESC LIMIT 1) AS last_status,
  (SELECT json_extract(i.body, '$.content') FROM inputs i WHERE i.app_id = c.app_id AND i.user_id = c.user_id
    AND i.chat_id = c.chat_id AND COALESCE(json_extract(i.body, '$.kind'), 'message') = 'message'
    ORDER BY i.input_seq LIMIT 1) AS title
FROM chats c`;

interface SummaryRow {
  user_id: string;
  chat_id: string;
  workflow_id: string;
  created_at: string;
  activity: string;
  inputs_done: number;
  last_status: RunStatus | null;
  title: string | null;
}

function toSummary(row: SummaryRow): ChatSummary {
  return {
    chat_id: row.chat_id,
    user_id: row.user_id,
    workflow_id: row.workflow_id,
    created_at: row.created_at,
    last_activity_at: row.activity,
    runs: row.inputs_done + (row.last_status === 'running' ? 1 : 0),
    last_status: row.last_status,
    title: titleOf(row.title),
  };
}

export class SqliteChatCatalog implements ChatCatalog {
  constructor(private readonly database: SqliteDatabase) {}

  async listChats(query: CatalogQuery): Promise<ChatSummary[]> {
    const { app_id, user_id = null, workflow_id = null, after, limit } = query;
    const rows = await this.database.attempt(
      () =>
        this.database
          .sql(
            `${SUMMARY} WHERE c.app_id = ? AND (? IS NULL OR c.user_id = ?) AND (? IS NULL OR c.workflow_id = ?)
              AND (? IS NULL OR (${ACTIVITY}, c.user_id, c.chat_id) < (?, ?, ?))
            ORDER BY activity DESC, c.user_id DESC, c.chat_id DESC LIMIT ?`,
          )
          .all(
            app_id,
            user_id,
            user_id,
            workflow_id,
            workflow_id,
            after ? 1 : null,
            after?.last_activity_at ?? null,
            after?.user_id ?? null,
            after?.chat_id ?? null,
            limit,
          ) as SummaryRow[],
    );
    return rows.map(toSummary);
  }

  async summary(t: Tenant, chatId: string): Promise<ChatSummary | undefined> {
    const row = await this.database.attempt(
      () =>
        this.database
          .sql(`${SUMMARY} WHERE c.app_id = ? AND c.user_id = ? AND c.chat_id = ?`)
          .get(t.app_id, t.user_id, chatId) as SummaryRow | undefined,
    );
    return row && toSummary(row);
  }

  async chatIdsOf(t: Tenant): Promise<string[]> {
    const rows = await this.database.attempt(
      () =>
        this.database
          .sql('SELECT chat_id FROM chats WHERE app_id = ? AND user_id = ? ORDER BY chat_id')
          .all(t.app_id, t.user_id) as { chat_id: string }[],
    );
    return rows.map((r) => r.chat_id);
  }

  async staleChats(before: string, limit: number): Promise<StaleChat[]> {
    return this.database.attempt(
      () =>
        this.database
          .sql(`SELECT c.app_id, c.user_id, c.chat_id FROM chats c WHERE ${ACTIVITY} < ? ORDER BY ${ACTIVITY} LIMIT ?`)
          .all(before, limit) as StaleChat[],
    );
  }

  async forkPoint(t: Tenant, chatId: string, atSeq: number): Promise<ForkPoint | 'not_a_fork_point' | undefined> {
    const db = this.database;
    const key = [t.app_id, t.user_id, chatId];
    const where = 'app_id = ? AND user_id = ? AND chat_id = ?';
    return db.read(() => {
      const chat = db.sql(`SELECT workflow_id, workflow_version FROM chats WHERE ${where}`).get(...key) as
        { workflow_id: string; workflow_version: string | null } | undefined;
      if (!chat) return undefined;
      const point = {
        workflow_id: chat.workflow_id,
        ...(chat.workflow_version ? { workflow_version: chat.workflow_version } : {}),
      };
      if (atSeq === 0) return { ...point, messages: [], events: [] };
      const run = db
        .sql(
          `SELECT end_seq, end_messages, end_context FROM runs WHERE ${where} AND end_seq >= ? ORDER BY end_seq LIMIT 1`,
        )
        .get(...key, atSeq) as { end_seq: number; end_messages: number; end_context: string | null } | undefined;
      const events = (seqFrom: number, seqTo: number) =>
        (
          db
            .sql(`SELECT body FROM events WHERE ${where} AND seq >= ? AND seq <= ? ORDER BY seq`)
            .all(...key, seqFrom, seqTo) as {
            body: string;
          }[]
        ).map((r) => JSON.parse(r.body) as ServerEvent);
      if (!run || !endsRun(atSeq, run.end_seq, events(atSeq, run.end_seq))) return 'not_a_fork_point' as const;
      const messages = (
        db.sql(`SELECT body FROM messages WHERE ${where} AND idx < ? ORDER BY idx`).all(...key, run.end_messages) as {
          body: string;
        }[]
      ).map((r) => JSON.parse(r.body) as StoredMessage);
      return {
        ...point,
        messages,
        ...(run.end_context ? { context: JSON.parse(run.end_context) as Record<string, unknown> } : {}),
        events: events(1, atSeq),
      };
    });
  }

  async erase(t: Tenant, chatId: string): Promise<ErasedChat> {
    const db = this.database;
    const key = [t.app_id, t.user_id, chatId];
    const where = 'WHERE app_id = ? AND user_id = ? AND chat_id = ?';
    return db.write(() => {
      const events = db.sql(`DELETE FROM events ${where}`).run(...key).changes;
      for (const table of ['messages', 'inputs', 'runs', 'leases']) db.sql(`DELETE FROM ${table} ${where}`).run(...key);
      const chats = db.sql(`DELETE FROM chats ${where}`).run(...key).changes;
      return { chats, events };
    });
  }
}
