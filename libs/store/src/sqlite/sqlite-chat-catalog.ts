// The ChatCatalog on SQLite: one query per page over the chats table, the last run and the first
// message read beside each chat by its key; a chat erased from every table in one transaction.
import type { Tenant } from '@mozaiks/protocol';
import { titleOf } from '../chat-catalog.js';
import type { CatalogQuery, ChatCatalog, ChatSummary, ErasedChat, RunStatus, StaleChat } from '../chat-catalog.js';
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
