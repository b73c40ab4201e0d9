// Forking a chat: a new chat of the same user, workflow and workflow version, holding the history,
// context variables and events of the first as they were at the end of one of its runs. Written
// as any chat is, through a writer under the new chat's lease, so both stores need nothing more.
import { randomUUID } from 'node:crypto';
import { AdminErrorCode } from '@mozaiks/protocol';
import type { Tenant } from '@mozaiks/protocol';
import type { ChatCatalog, ChatInbox, ChatLog } from '@mozaiks/store';
import { AdminError } from './admin-error.js';

export interface ChatForkerOptions {
  catalog: ChatCatalog;
  inbox: ChatInbox;
  log: ChatLog;
}

/** What a fork copied. */
export interface Forked {
  messages: number;
  events: number;
}

export class ChatForker {
  private readonly holder = `fork-${randomUUID()}`;

  constructor(private readonly options: ChatForkerOptions) {}

  /**
   * Makes `newChatId` from `chatId` at `atSeq`.
   * @throws AdminError 404 (no such chat), 400 `not_a_fork_point`, 409 `chat_exists`
   */
  async fork(tenant: Tenant, chatId: string, atSeq: number, newChatId: string): Promise<Forked> {
    const { catalog, inbox, log } = this.options;
    const point = await catalog.forkPoint(tenant, chatId, atSeq);
    if (!point)
      throw new AdminError(404, AdminErrorCode.NotFound, `no chat "${chatId}" of user "${tenant.user_id}" in this app`);
    if (point === 'not_a_fork_point')
      throw new AdminError(
        400,
        AdminErrorCode.NotAForkPoint,
        `seq ${atSeq} does not end a run of chat "${chatId}": fork at a run's workflow_complete (or 0)`,
      );
    const exists = () =>
      new AdminError(409, AdminErrorCode.ChatExists, `user "${tenant.user_id}" has a chat "${newChatId}" already`);
    if (await catalog.summary(tenant, newChatId)) throw exists();
    const lease = await inbox.acquire(tenant, newChatId, this.holder, 60_000);
    if (!lease) throw exists();
    let position = 0;
    try {
      const writer = await log.openWriter(lease, point.workflow_id);
      // Made meanwhile by a message of its own.
      if (writer.position > 0 || writer.inputsDone > 0) throw exists();
      const events = point.events.map(({ seq: _seq, ...event }) => ({ ...event, chat_id: newChatId }));
      await writer.append({
        messages: point.messages,
        events,
        ...(point.context ? { context: point.context } : {}),
        ...(point.workflow_version ? { workflowVersion: point.workflow_version } : {}),
      });
      position = writer.position;
    } finally {
      await inbox.release(lease, { inputsDone: 0, position });
    }
    return { messages: point.messages.length, events: point.events.length };
  }
}
