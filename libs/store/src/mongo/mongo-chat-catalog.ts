// The ChatCatalog on MongoDB: a page of chat documents by their last activity (one indexed query),
// then, for the chats of the page only, the newest step (runs done, the run going), the newest run
// and the first message, read beside each other.
import type { Filter } from 'mongodb';
import type { Tenant } from '@mozaiks/protocol';
import { titleOf } from '../chat-catalog.js';
import type { ChatCatalog, ChatListQuery, ChatSummary, RunStatus } from '../chat-catalog.js';
import type { NewInput } from '../chat-inbox.js';
import { chatKey } from './mongo-database.js';
import type { ChatDoc, MongoDatabase } from './mongo-database.js';

/** Inputs read to find the first message (the opening, and an answer or two, may come before it). */
const TITLE_SCAN = 8;

export class MongoChatCatalog implements ChatCatalog {
  constructor(private readonly database: MongoDatabase) {}

  async listChats(query: ChatListQuery): Promise<ChatSummary[]> {
    const { app_id, user_id, workflow_id, after, limit } = query;
    const filter: Filter<ChatDoc> = {
      app_id,
      ...(user_id === undefined ? {} : { user_id }),
      ...(workflow_id === undefined ? {} : { workflow_id }),
    };
    if (after) {
      const at = after.last_activity_at;
      filter.$or = [
        { last_input_at: { $lt: at } },
        { last_input_at: at, user_id: { $lt: after.user_id } },
        { last_input_at: at, user_id: after.user_id, chat_id: { $lt: after.chat_id } },
      ];
    }
    const chats = await this.database.chats
      .find(filter, { sort: { last_input_at: -1, user_id: -1, chat_id: -1 }, limit })
      .toArray();
    return Promise.all(chats.map((c) => this.summarize(c)));
  }

  async summary(t: Tenant, chatId: string): Promise<ChatSummary | undefined> {
    const chat = await this.database.chats.findOne({ _id: chatKey({ ...t, chat_id: chatId }) });
    return chat ? this.summarize(chat) : undefined;
  }

  private async summarize(chat: ChatDoc): Promise<ChatSummary> {
    const key = { app_id: chat.app_id, user_id: chat.user_id, chat_id: chat.chat_id };
    const { log, inputs } = this.database;
    const projection = { inputs_done: 1, run: 1 };
    const [newest, lastRun, firstInputs] = await Promise.all([
      log.findOne(key, { sort: { step: -1 }, projection }),
      log.findOne({ ...key, run: { $exists: true } }, { sort: { step: -1 }, projection }),
      inputs.find(key, { sort: { input_seq: 1 }, limit: TITLE_SCAN, projection: { body: 1 } }).toArray(),
    ]);
    const status = lastRun?.run ? ((lastRun.run.finish as RunStatus | undefined) ?? 'running') : null;
    const first = firstInputs
      .map((i) => JSON.parse(i.body) as NewInput)
      .find((i) => (i.kind ?? 'message') === 'message');
    return {
      chat_id: chat.chat_id,
      user_id: chat.user_id,
      workflow_id: chat.workflow_id,
      created_at: chat.created_at,
      last_activity_at: chat.last_input_at ?? chat.created_at,
      runs: (newest?.inputs_done ?? 0) + (status === 'running' ? 1 : 0),
      last_status: status,
      title: titleOf(first?.content),
    };
  }
}
