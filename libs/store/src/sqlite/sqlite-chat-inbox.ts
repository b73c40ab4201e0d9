// The ChatInbox on the embedded SQLite database: inputs numbered inside one write transaction, the
// lease as a row whose epoch grows with every acquisition.
import type { Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatRef } from '../chat-log.js';
import type { Accepted, ChatInbox, NewInput, PendingInput, UsageMark } from '../chat-inbox.js';
import type { Lease, LeaseProgress } from '../lease.js';
import type { SqliteDatabase } from './sqlite-database.js';

/** Creates the chat with its first input, and notes when it took its newest. */
const CHAT_TOOK_INPUT = `INSERT INTO chats (app_id, user_id, chat_id, workflow_id, created_at, last_input_at) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (app_id, user_id, chat_id) DO UPDATE SET last_input_at = excluded.last_input_at`;

export class SqliteChatInbox implements ChatInbox {
  constructor(private readonly database: SqliteDatabase) {}

  async accept(t: Tenant, chatId: string, input: NewInput): Promise<Accepted> {
    const db = this.database;
    const byRequest =
      'SELECT input_seq, body FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ?';
    const stored = (row: { input_seq: number; body: string }) => ({
      ...(JSON.parse(row.body) as NewInput),
      input_seq: row.input_seq,
    });
    // One write transaction, which finds an input accepted already (a client retrying) as well: a
    // read before it would cost every new input a transaction more for the rare repeat.
    return db.write(() => {
      const again = db.sql(byRequest).get(t.app_id, t.user_id, chatId, input.request_id) as
        { input_seq: number; body: string } | undefined;
      if (again) return { input: stored(again), created: false };
      const now = new Date().toISOString();
      db.sql(CHAT_TOOK_INPUT).run(t.app_id, t.user_id, chatId, input.workflow_id, now, now);
      const { next } = db
        .sql(
          'SELECT COALESCE(MAX(input_seq), 0) + 1 AS next FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ?',
        )
        .get(t.app_id, t.user_id, chatId) as { next: number };
      db.sql(
        'INSERT INTO inputs (app_id, user_id, chat_id, input_seq, request_id, body) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(t.app_id, t.user_id, chatId, next, input.request_id, JSON.stringify(input));
      return { input: { ...input, input_seq: next }, created: true };
    });
  }

  async acceptIfIdle(t: Tenant, chatId: string, input: NewInput, next: number): Promise<Accepted | undefined> {
    const db = this.database;
    return db.write(() => {
      const again = db
        .sql('SELECT input_seq, body FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND request_id = ?')
        .get(t.app_id, t.user_id, chatId, input.request_id) as { input_seq: number; body: string } | undefined;
      if (again)
        return { input: { ...(JSON.parse(again.body) as NewInput), input_seq: again.input_seq }, created: false };
      const { newest } = db
        .sql(
          'SELECT COALESCE(MAX(input_seq), 0) AS newest FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ?',
        )
        .get(t.app_id, t.user_id, chatId) as { newest: number };
      if (newest + 1 !== next) return undefined;
      const now = new Date().toISOString();
      db.sql(CHAT_TOOK_INPUT).run(t.app_id, t.user_id, chatId, input.workflow_id, now, now);
      db.sql(
        'INSERT INTO inputs (app_id, user_id, chat_id, input_seq, request_id, body) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(t.app_id, t.user_id, chatId, next, input.request_id, JSON.stringify(input));
      return { input: { ...input, input_seq: next }, created: true };
    });
  }

  async pending(t: Tenant, chatId: string, afterSeq: number, limit = 64): Promise<PendingInput[]> {
    const db = this.database;
    const rows = await db.attempt(
      () =>
        db
          .sql(
            'SELECT input_seq, body FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND input_seq > ? ORDER BY input_seq LIMIT ?',
          )
          .all(t.app_id, t.user_id, chatId, afterSeq, limit) as { input_seq: number; body: string }[],
    );
    return rows.map((row) => ({ ...(JSON.parse(row.body) as NewInput), input_seq: row.input_seq }));
  }

  async acquire(t: Tenant, chatId: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const db = this.database;
    return db.write(() => {
      const now = Date.now();
      const row = db
        .sql(
          'SELECT epoch, expires_at, released, inputs_done, position FROM leases WHERE app_id = ? AND user_id = ? AND chat_id = ?',
        )
        .get(t.app_id, t.user_id, chatId) as
        { epoch: number; expires_at: number; released: number; inputs_done: number; position: number } | undefined;
      if (row && row.released === 0 && row.expires_at > now) {
        // Held: its holder looks at the inbox again when it lets go.
        db.sql('UPDATE leases SET wanted = 1 WHERE app_id = ? AND user_id = ? AND chat_id = ?').run(
          t.app_id,
          t.user_id,
          chatId,
        );
        return undefined;
      }
      const epoch = (row?.epoch ?? 0) + 1;
      db.sql(
        `INSERT INTO leases (app_id, user_id, chat_id, holder, epoch, expires_at, released, wanted) VALUES (?, ?, ?, ?, ?, ?, 0, 0)
        ON CONFLICT (app_id, user_id, chat_id) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at, released = 0, wanted = 0`,
      ).run(t.app_id, t.user_id, chatId, holder, epoch, now + ttlMs);
      const takeover = row !== undefined && row.released === 0;
      return {
        tenant: t,
        chatId,
        holder,
        epoch,
        takeover,
        inputsDone: row?.inputs_done ?? 0,
        position: takeover ? 0 : (row?.position ?? 0),
      };
    });
  }

  async renew(leases: readonly Lease[], ttlMs: number): Promise<boolean[]> {
    const db = this.database;
    const expires = Date.now() + ttlMs;
    const update = db.sql(
      'UPDATE leases SET expires_at = ? WHERE app_id = ? AND user_id = ? AND chat_id = ? AND holder = ? AND epoch = ? AND released = 0',
    );
    return db.write(() =>
      leases.map(
        (l) => update.run(expires, l.tenant.app_id, l.tenant.user_id, l.chatId, l.holder, l.epoch).changes === 1,
      ),
    );
  }

  async release(lease: Lease, progress: LeaseProgress): Promise<{ wanted: boolean }> {
    const db = this.database;
    const { tenant: t } = lease;
    const where = [t.app_id, t.user_id, lease.chatId, lease.holder, lease.epoch];
    const row = await db.write(() => {
      const held = db
        .sql('SELECT wanted FROM leases WHERE app_id = ? AND user_id = ? AND chat_id = ? AND holder = ? AND epoch = ?')
        .get(...where) as { wanted: number } | undefined;
      db.sql(
        'UPDATE leases SET released = 1, wanted = 0, position = ?, inputs_done = MAX(inputs_done, ?) WHERE app_id = ? AND user_id = ? AND chat_id = ? AND holder = ? AND epoch = ?',
      ).run(progress.position, progress.inputsDone, ...where);
      return held;
    });
    return { wanted: row?.wanted === 1 };
  }

  async unpublishedUsage(t: Tenant, chatId: string): Promise<UsageUpdateEvent[]> {
    const db = this.database;
    const rows = await db.attempt(
      () =>
        db
          .sql(
            "SELECT usage FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND usage_published = 0 AND status != 'running' AND usage IS NOT NULL ORDER BY input_seq",
          )
          .all(t.app_id, t.user_id, chatId) as { usage: string }[],
    );
    return rows.map((r) => JSON.parse(r.usage) as UsageUpdateEvent);
  }

  async markUsagePublished(marks: readonly UsageMark[]): Promise<void> {
    if (marks.length === 0) return;
    const db = this.database;
    const mark = db.sql(
      "UPDATE runs SET usage_published = 1 WHERE app_id = ? AND user_id = ? AND chat_id = ? AND usage_published = 0 AND json_extract(usage, '$.event_id') = ?",
    );
    await db.write(() => {
      for (const { tenant: t, chatId, eventId } of marks) mark.run(t.app_id, t.user_id, chatId, eventId);
    });
  }

  async chatsWithWork(): Promise<ChatRef[]> {
    const db = this.database;
    return db.attempt(
      () =>
        db
          .sql(
            `SELECT c.app_id, c.user_id, c.chat_id, c.workflow_id FROM chats c
        WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.app_id = c.app_id AND l.user_id = c.user_id AND l.chat_id = c.chat_id AND l.released = 0 AND l.expires_at > ?)
        AND (EXISTS (SELECT 1 FROM inputs i WHERE i.app_id = c.app_id AND i.user_id = c.user_id AND i.chat_id = c.chat_id AND i.state = 'pending')
           OR EXISTS (SELECT 1 FROM runs r WHERE r.app_id = c.app_id AND r.user_id = c.user_id AND r.chat_id = c.chat_id AND r.status != 'running' AND r.usage_published = 0))`,
          )
          .all(Date.now()) as ChatRef[],
    );
  }
}
