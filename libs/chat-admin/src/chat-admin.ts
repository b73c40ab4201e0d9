// The API over chats as calls, whatever carries them (HTTP on the gateway, or `mozaiks chats`):
// each confined to the caller's app, a chat of another app answered as one that does not exist.
import { AdminErrorCode } from '@mozaiks/protocol';
import type { AdminCaller, ChatDetail, ChatEvents, ChatEventsQuery, ChatList, ChatListQuery } from '@mozaiks/protocol';
import type { ChatCatalog, ChatLog } from '@mozaiks/store';
import type { z } from 'zod';
import { decodeCursor, encodeCursor } from './cursor.js';

/** A refused call: its HTTP status, its code and why. */
export class AdminError extends Error {
  override name = 'AdminError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the calls read and change. */
export interface ChatAdminStores {
  catalog: ChatCatalog;
  log: ChatLog;
}

export class ChatAdmin {
  constructor(private readonly stores: ChatAdminStores) {}

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
