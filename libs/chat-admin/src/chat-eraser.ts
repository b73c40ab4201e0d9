// Deleting a chat and erasing a user: what "every trace" takes across the runtime. The chat's
// sockets are closed first (every gateway, 4410), the run going is cancelled, the chat's lease is
// taken once its executor lets go (so no holder writes to it any more), then the store erases it
// and every process is told to forget what it kept of it. Erasing a user does that for each of
// their chats, then removes their usage dead letters and, when asked, their billing records.
import { randomUUID } from 'node:crypto';
import type { Bus } from '@mozaiks/bus';
import { BusError } from '@mozaiks/bus';
import { AdminErrorCode } from '@mozaiks/protocol';
import type { ChatControl, ChatDeleted, Subjects, Tenant, UsageDeadLetter } from '@mozaiks/protocol';
import type { ChatCatalog, ChatInbox, ChatLog, ErasedChat, Lease } from '@mozaiks/store';
import { AdminError } from './admin-error.js';

/** The usage streams on NATS: dead letters (per event) and billing records (per app and user). */
export interface UsageStreams {
  /** What a stream holds on `subject`, oldest first. */
  read<T>(subject: string): AsyncIterable<{ subject: string; data: T }>;
  /** Removes what a stream holds on `subject`; how many messages. */
  purge(subject: string): Promise<number>;
}

export interface ChatEraserOptions {
  catalog: ChatCatalog;
  inbox: ChatInbox;
  log: ChatLog;
  bus: Bus;
  subjects: Subjects;
  /** On NATS: the usage streams. Without (standalone), there are none to erase from. */
  streams?: UsageStreams;
  /** How long a delete waits for the chat's run to stop and its executor to let it go. @default 30000 */
  releaseWaitMs?: number;
}

/** What erasing a user removed, by kind. */
export interface ErasedUser extends ErasedChat {
  dead_letters: number;
  usage_events: number;
}

/** Events looked at for the chat's latest billing records, and how recent those are. */
const RECENT_EVENTS = 50;
const RECENT_USAGE_MS = 10 * 60_000;

/** How long the eraser's own lease lasts: the erase is a few writes. */
const ERASER_LEASE_MS = 60_000;

export class ChatEraser {
  private readonly holder = `eraser-${randomUUID()}`;

  constructor(private readonly options: ChatEraserOptions) {}

  /** Erases the chat everywhere; zeros when the tenant has none such. @throws AdminError 503 when its run would not stop */
  async deleteChat(tenant: Tenant, chatId: string): Promise<ErasedChat> {
    const { recentUsage: _recent, ...erased } = await this.eraseChat(tenant, chatId);
    return erased;
  }

  /** `deleteChat`, with the ids of the chat's latest billing records (those that may still be on their way to the usage stream). */
  private async eraseChat(tenant: Tenant, chatId: string): Promise<ErasedChat & { recentUsage: string[] }> {
    const { bus, subjects, catalog } = this.options;
    const deleting: ChatDeleted = { v: 1, ...tenant, chat_id: chatId, erased: false };
    const subject = subjects.chatDeleted(tenant.app_id, chatId);
    // Its sockets go first (nothing more comes into the chat from them), and its executor stops serving it.
    await bus.publish(subject, deleting);
    const lease = await this.takeLease(tenant, chatId);
    await this.usageSent(tenant, chatId);
    const recentUsage = await this.recentUsage(tenant, chatId);
    // A holder that never let go (its lease expired) is fenced off before anything is removed.
    if (lease.takeover) {
      const chat = await this.options.log.getChat(tenant, chatId);
      if (chat) await this.options.log.openWriter(lease, chat.workflow_id);
    }
    const erased = await catalog.erase(tenant, chatId);
    // Once it is gone: every process forgets what it kept of it, and its id may start a new chat.
    await bus.publish(subject, { ...deleting, erased: true });
    return { ...erased, recentUsage };
  }

  /** Erases every chat of the user in the app, their usage dead letters, and with `usage` their billing records. */
  async eraseUser(tenant: Tenant, options: { usage: boolean }): Promise<ErasedUser & { chat_ids: string[] }> {
    const chatIds = await this.options.catalog.chatIdsOf(tenant);
    const total: ErasedUser = { chats: 0, events: 0, dead_letters: 0, usage_events: 0 };
    const inFlight: string[] = [];
    for (const chatId of chatIds) {
      const erased = await this.eraseChat(tenant, chatId);
      total.chats += erased.chats;
      total.events += erased.events;
      inFlight.push(...erased.recentUsage);
    }
    const streams = this.options.streams;
    if (streams) {
      const { subjects } = this.options;
      const theirs: string[] = [];
      for await (const letter of streams.read<UsageDeadLetter>(subjects.usageDeadLetters()))
        if (letter.data.app_id === tenant.app_id && letter.data.event?.user_id === tenant.user_id)
          theirs.push(letter.subject);
      for (const subject of theirs) total.dead_letters += await streams.purge(subject);
      if (options.usage) {
        const theirUsage = subjects.usage(tenant.app_id, tenant.user_id);
        // A run cut short by the erase bills what it used: its record is on its way through the
        // usage-emitter. The latest records are waited for, so none lands after the purge.
        await this.arrived(streams, theirUsage, inFlight);
        total.usage_events = await streams.purge(theirUsage);
      }
    }
    return { ...total, chat_ids: chatIds };
  }

  /** The ids of the chat's billing records made in the last minutes: the ones that may not be on the usage stream yet. */
  private async recentUsage(tenant: Tenant, chatId: string): Promise<string[]> {
    const chat = await this.options.log.getChat(tenant, chatId);
    if (!chat) return [];
    const last = await this.options.log.listEvents(
      tenant,
      chatId,
      Math.max(0, chat.last_seq - RECENT_EVENTS),
      RECENT_EVENTS,
    );
    const since = Date.now() - RECENT_USAGE_MS;
    return last.filter((e) => e.type === 'usage_update' && Date.parse(e.timestamp) > since).map((e) => e.event_id);
  }

  /** Waits (within the release wait) until every one of `ids` is on the stream at `subject`. */
  private async arrived(streams: UsageStreams, subject: string, ids: string[]): Promise<void> {
    const deadline = Date.now() + (this.options.releaseWaitMs ?? 30_000);
    for (let missing = new Set(ids); missing.size > 0 && Date.now() < deadline;) {
      for await (const m of streams.read<{ event_id?: string }>(subject)) missing.delete(m.data.event_id ?? '');
      if (missing.size > 0) await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits (within the release wait) until the chat's usage outbox is empty: a run that was stopped
   * bills what it used, and its record goes on to billing before its chat is erased.
   */
  private async usageSent(tenant: Tenant, chatId: string): Promise<void> {
    const deadline = Date.now() + (this.options.releaseWaitMs ?? 30_000);
    while ((await this.options.inbox.unpublishedUsage(tenant, chatId)).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  }

  /**
   * The chat's lease, once no one else holds it: its run going is asked to stop (again each
   * second, so queued messages do not start after it), and its executor lets go.
   */
  private async takeLease(tenant: Tenant, chatId: string): Promise<Lease> {
    const { inbox, bus, subjects } = this.options;
    const deadline = Date.now() + (this.options.releaseWaitMs ?? 30_000);
    for (let asked = 0; ;) {
      const lease = await inbox.acquire(tenant, chatId, this.holder, ERASER_LEASE_MS);
      if (lease) return lease;
      if (Date.now() > deadline)
        throw new AdminError(503, AdminErrorCode.ChatBusy, `the run of chat "${chatId}" did not stop; try again`);
      if (Date.now() >= asked) {
        asked = Date.now() + 1000;
        const cancel: ChatControl = { v: 1, ...tenant, chat_id: chatId, action: 'cancel' };
        await bus.request(subjects.control(tenant.app_id, chatId), cancel, { timeoutMs: 2000 }).catch((error) => {
          // Nobody serves it (the lease is about to be free), or the answer was slow: try the lease again.
          if (!(error instanceof BusError)) throw error;
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
