// The ChatCatalog on MongoDB: a page of chat documents by their last activity (one indexed query),
// then, for the chats of the page only, their first inputs by id (one query: the title is the
// first message among them) and each chat's newest step with a run (its status, the inputs done).
import type { Filter } from 'mongodb';
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
import type { NewInput } from '../chat-inbox.js';
import { chatKey } from './mongo-database.js';
import type { ChatDoc, MongoDatabase } from './mongo-database.js';

/** Inputs looked at for the first message (the opening, and an answer or two, may come before it). */
const TITLE_SCAN = 8;

export class MongoChatCatalog implements ChatCatalog {
  constructor(private readonly database: MongoDatabase) {}

  async listChats(query: CatalogQuery): Promise<ChatSummary[]> {
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
    return this.summarize(chats);
  }

  async summary(t: Tenant, chatId: string): Promise<ChatSummary | undefined> {
    const chat = await this.database.chats.findOne({ _id: chatKey({ ...t, chat_id: chatId }) });
    return chat ? (await this.summarize([chat]))[0] : undefined;
  }

  async chatIdsOf(t: Tenant): Promise<string[]> {
    const docs = await this.database.chats
      .find({ app_id: t.app_id, user_id: t.user_id }, { projection: { chat_id: 1 }, sort: { chat_id: 1 } })
      .toArray();
    return docs.map((d) => d.chat_id);
  }

  async staleChats(before: string, limit: number): Promise<StaleChat[]> {
    const docs = await this.database.chats
      .find(
        { last_input_at: { $lt: before } },
        { projection: { app_id: 1, user_id: 1, chat_id: 1 }, sort: { last_input_at: 1 }, limit },
      )
      .toArray();
    return docs.map(({ app_id, user_id, chat_id }) => ({ app_id, user_id, chat_id }));
  }

  async forkPoint(t: Tenant, chatId: string, atSeq: number): Promise<ForkPoint | 'not_a_fork_point' | undefined> {
    const key = { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
    const { chats, log } = this.database;
    const chat = await chats.findOne({ _id: chatKey(key) });
    if (!chat) return undefined;
    if (atSeq === 0) return { workflow_id: chat.workflow_id, messages: [], events: [] };
    const end = await log.findOne(
      { ...key, 'run.finish': { $exists: true }, last_seq: { $gte: atSeq } },
      { sort: { step: 1 } },
    );
    if (!end) return 'not_a_fork_point';
    const stepEvents = (JSON.parse(end.events) as ServerEvent[]).filter((e) => (e.seq ?? 0) >= atSeq);
    if (!endsRun(atSeq, end.last_seq, stepEvents)) return 'not_a_fork_point';
    // Every step up to the run's end carries its part of the history and of the events.
    const steps = await log.find({ ...key, step: { $lte: end.step } }, { sort: { step: 1 } }).toArray();
    return {
      workflow_id: chat.workflow_id,
      ...(end.workflow_version ? { workflow_version: end.workflow_version } : {}),
      messages: steps.flatMap((s) => JSON.parse(s.messages) as StoredMessage[]),
      ...(end.context ? { context: JSON.parse(end.context) as Record<string, unknown> } : {}),
      events: steps.flatMap((s) => JSON.parse(s.events) as ServerEvent[]).filter((e) => (e.seq ?? 0) <= atSeq),
    };
  }

  /**
   * Erases the log first and the chat's document last: an erase cut short leaves the chat listed,
   * to be erased again, never steps of a chat no list shows.
   */
  async erase(t: Tenant, chatId: string): Promise<ErasedChat> {
    const key = { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
    const id = chatKey(key);
    const { log, inputs, leases, leaseWants, chats } = this.database;
    const steps = await log.find(key, { projection: { events: 1 } }).toArray();
    const events = steps.reduce((n, s) => n + (JSON.parse(s.events) as unknown[]).length, 0);
    await log.deleteMany(key);
    await inputs.deleteMany(key);
    await Promise.all([leases.deleteOne({ _id: id }), leaseWants.deleteOne({ _id: id })]);
    const gone = await chats.deleteOne({ _id: id });
    for (const noted of [...this.database.usageSteps.keys()])
      if (noted.startsWith(`${id}\u0000`)) this.database.usageSteps.delete(noted);
    return { chats: gone.deletedCount, events };
  }

  /** The chats' summaries: one query for their first inputs, one per chat for its newest run. */
  private async summarize(chats: ChatDoc[]): Promise<ChatSummary[]> {
    const { log, inputs } = this.database;
    const ids = chats.flatMap((c) => Array.from({ length: TITLE_SCAN }, (_, i) => `${c._id}/${i + 1}`));
    const [firstInputs, lastRuns] = await Promise.all([
      inputs.find({ _id: { $in: ids } }, { projection: { body: 1 } }).toArray(),
      Promise.all(
        chats.map((c) =>
          log.findOne(
            { app_id: c.app_id, user_id: c.user_id, chat_id: c.chat_id, run: { $exists: true } },
            { sort: { step: -1 }, projection: { inputs_done: 1, run: 1 } },
          ),
        ),
      ),
    ]);
    const bodies = new Map(firstInputs.map((i) => [i._id, JSON.parse(i.body) as NewInput]));
    return chats.map((chat, n) => {
      const lastRun = lastRuns[n];
      const status = lastRun?.run ? ((lastRun.run.finish as RunStatus | undefined) ?? 'running') : null;
      let first: NewInput | undefined;
      for (let i = 1; i <= TITLE_SCAN && !first; i++) {
        const input = bodies.get(`${chat._id}/${i}`);
        if (input && (input.kind ?? 'message') === 'message') first = input;
      }
      return {
        chat_id: chat.chat_id,
        user_id: chat.user_id,
        workflow_id: chat.workflow_id,
        created_at: chat.created_at,
        last_activity_at: chat.last_input_at ?? chat.created_at,
        // The newest run's step knows the inputs done before it (and with it, once it finished).
        runs: (lastRun?.inputs_done ?? 0) + (status === 'running' ? 1 : 0),
        last_status: status,
        title: titleOf(first?.content),
      };
    });
  }
}
