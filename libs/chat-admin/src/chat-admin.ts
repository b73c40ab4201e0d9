// The API over chats as calls, whatever carries them (HTTP on the gateway, or `mozaiks chats`):
// each confined to the caller's app, a chat of another app answered as one that does not exist.
import { AdminErrorCode } from '@mozaiks/protocol';
import type {
  AdminCaller,
  ChatDetail,
  ChatEvents,
  ChatEventsQuery,
  ChatList,
  ChatListQuery,
  ForkRequest,
} from '@mozaiks/protocol';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import type { Counter } from 'prom-client';
import type { z } from 'zod';
import { AdminError } from './admin-error.js';
import { ChatEraser } from './chat-eraser.js';
import { ChatForker } from './chat-forker.js';
import type { ChatEraserOptions, ErasedUser } from './chat-eraser.js';
import type { ErasedChat } from '@mozaiks/store';
import { decodeCursor, encodeCursor } from './cursor.js';

/** What the calls read and change, and where data requests are audited. */
export interface ChatAdminOptions extends ChatEraserOptions {
  logger: Logger;
  metrics: RuntimeMetrics;
}

/** Events read at once while exporting. */
const EXPORT_PAGE = 500;

/** The kinds of data request audited (`data_requests_total{kind}`). */
export type DataRequestKind = 'delete_chat' | 'erase_user' | 'export_user' | 'fork_chat' | 'retention';

export class ChatAdmin {
  private readonly eraser: ChatEraser;
  private readonly forker: ChatForker;
  private readonly requests: Counter<'kind'>;

  constructor(private readonly stores: ChatAdminOptions) {
    this.eraser = new ChatEraser(stores);
    this.forker = new ChatForker(stores);
    this.requests = stores.metrics.declare('chat-admin', (families) =>
      families.counter(
        'data_requests_total',
        'Data requests carried out (deletes, erasures, exports, forks), by kind.',
        ['kind'],
      ),
    );
  }

  /** Deletes the chat everywhere (its sockets closed with 4410); zeros for a chat the app does not have. */
  async deleteChat(caller: AdminCaller, chatId: string, userId: string): Promise<{ deleted: ErasedChat }> {
    const tenant = { app_id: caller.app_id, user_id: userId };
    const deleted = await this.eraser.deleteChat(tenant, chatId);
    this.audit(caller, 'delete_chat', { user_id: userId, chat_ids: [chatId], ...deleted });
    return { deleted };
  }

  /** Erases a chat past CHAT_RETENTION_DAYS, as `deleteChat` does; audited only when there was something to erase. */
  async expire(caller: AdminCaller, chatId: string, userId: string): Promise<ErasedChat> {
    const erased = await this.eraser.deleteChat({ app_id: caller.app_id, user_id: userId }, chatId);
    if (erased.chats > 0) this.audit(caller, 'retention', { user_id: userId, chat_ids: [chatId], ...erased });
    return erased;
  }

  /** Erases every chat of the user in the app and their dead letters; their billing records too with `usage`. */
  async eraseUser(caller: AdminCaller, userId: string, usage: boolean): Promise<{ deleted: ErasedUser }> {
    const { chat_ids, ...deleted } = await this.eraser.eraseUser({ app_id: caller.app_id, user_id: userId }, { usage });
    this.audit(caller, 'erase_user', { user_id: userId, chat_ids, usage, ...deleted });
    return { deleted };
  }

  /**
   * Everything the app keeps of a user, as NDJSON lines: for each chat, `{"chat": …}` (its summary,
   * context variables and history, what the model is shown, the user's own messages included), then
   * `{"event": …}` for each of its events, as a socket's replay sends them. Audited once it is whole.
   * With `only`, those chats of the user alone.
   */
  async *exportUser(caller: AdminCaller, userId: string, only?: string[]): AsyncGenerator<string> {
    const tenant = { app_id: caller.app_id, user_id: userId };
    const { catalog, log } = this.stores;
    const chatIds = only ?? (await catalog.chatIdsOf(tenant));
    let events = 0;
    for (const chatId of chatIds) {
      const [summary, record, messages] = await Promise.all([
        catalog.summary(tenant, chatId),
        log.getChat(tenant, chatId),
        log.listMessages(tenant, chatId),
      ]);
      // Erased while the export ran.
      if (!summary) continue;
      yield JSON.stringify({ chat: { ...summary, context_variables: record?.context ?? {}, messages } }) + '\n';
      for (let after = 0; ;) {
        const page = await log.listEvents(tenant, chatId, after, EXPORT_PAGE);
        for (const event of page) yield JSON.stringify({ event }) + '\n';
        events += page.length;
        if (page.length < EXPORT_PAGE) break;
        after = page.at(-1)!.seq!;
      }
    }
    this.audit(caller, 'export_user', { user_id: userId, chat_ids: chatIds, chats: chatIds.length, events });
  }

  /**
   * A new chat of the same user, workflow and version holding this one's history, context variables
   * and events as they were at `at_seq` (the end of a run, or 0): "edit and resend", "try again".
   */
  async forkChat(
    caller: AdminCaller,
    chatId: string,
    request: z.output<typeof ForkRequest>,
  ): Promise<z.output<typeof ChatDetail>> {
    const tenant = { app_id: caller.app_id, user_id: request.user_id };
    const forked = await this.forker.fork(tenant, chatId, request.at_seq, request.chat_id);
    this.audit(caller, 'fork_chat', {
      user_id: request.user_id,
      chat_ids: [chatId, request.chat_id],
      at_seq: request.at_seq,
      ...forked,
    });
    return this.getChat(caller, request.chat_id, request.user_id);
  }

  /** One INFO line per data request: who asked, about whom, and how much; never content. */
  audit(caller: AdminCaller, kind: DataRequestKind, facts: Record<string, unknown>): void {
    this.requests.inc({ kind });
    this.stores.logger.info(
      { kind, app_id: caller.app_id, ...facts, caller_sub: caller.sub ?? null, caller_iss: caller.iss },
      'data request',
    );
  }

  /** The app's chats (of a user, of a workflow), newest activity first, a page at a time. */
  async listChats(caller: AdminCaller, query: z.output<typeof ChatListQuery>): Promise<z.output<typeof ChatList>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !after)
      throw new AdminError(400, AdminErrorCode.InvalidRequest, 'cursor: not a next_cursor this API gave');
    // One more than asked tells whether another page follows.
    const found = await this.stores.catalog.listChats({
      app_id: caller.app_id,
      ...(query.user_id ? { user_id: query.user_id } : {}),
      ...(query.workflow_id ? { workflow_id: query.workflow_id } : {}),
      limit: query.limit + 1,
      ...(after ? { after } : {}),
    });
    const chats = found.slice(0, query.limit);
    const more = found.length > query.limit;
    return { chats, next_cursor: more ? encodeCursor(chats.at(-1)!) : null };
  }

  /** One chat's summary and context variables. @throws AdminError 404 when the app has no such chat */
  async getChat(caller: AdminCaller, chatId: string, userId: string): Promise<z.output<typeof ChatDetail>> {
    const tenant = { app_id: caller.app_id, user_id: userId };
    const [summary, record] = await Promise.all([
      this.stores.catalog.summary(tenant, chatId),
      this.stores.log.getChat(tenant, chatId),
    ]);
    if (!summary) throw notFound(chatId, userId);
    return { ...summary, context_variables: record?.context ?? {} };
  }

  /** A page of the chat's persisted events after `after_seq`. @throws AdminError 404 when the app has no such chat */
  async chatEvents(
    caller: AdminCaller,
    chatId: string,
    query: z.output<typeof ChatEventsQuery>,
  ): Promise<z.output<typeof ChatEvents>> {
    const tenant = { app_id: caller.app_id, user_id: query.user_id };
    const [record, events] = await Promise.all([
      this.stores.log.getChat(tenant, chatId),
      this.stores.log.listEvents(tenant, chatId, query.after_seq, query.limit),
    ]);
    if (!record) throw notFound(chatId, query.user_id);
    const full = events.length === query.limit && events.at(-1)!.seq! < record.last_seq;
    return { events, next_after_seq: full ? events.at(-1)!.seq! : null };
  }
}

function notFound(chatId: string, userId: string): AdminError {
  return new AdminError(404, AdminErrorCode.NotFound, `no chat "${chatId}" of user "${userId}" in this app`);
}
