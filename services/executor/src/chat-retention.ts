// CHAT_RETENTION_DAYS: every hour, chats that took no input for that long are erased whole, each as
// the API's DELETE does (sockets closed 4410, everything of it gone from the store) and audited.
// Every executor sweeps; a chat two of them reach at once is erased once (the second finds nothing
// left, and says nothing).
import { errorMessage } from '@mozaiks/common';
import type { ChatAdmin } from '@mozaiks/chat-admin';
import type { ChatCatalog } from '@mozaiks/store';
import type { Logger } from '@mozaiks/telemetry';

/** Chats looked at per sweep: more wait for the next. */
const SWEEP_LIMIT = 1000;

/** Who a retention erasure is audited as. */
const RETENTION_CALLER = { iss: 'mozaiks-runtime', sub: 'CHAT_RETENTION_DAYS' };

export interface ChatRetentionOptions {
  admin: ChatAdmin;
  catalog: ChatCatalog;
  days: number;
  logger: Logger;
  /** @default one hour */
  intervalMs?: number;
  /** The clock the age of chats is measured by. @default Date.now */
  now?: () => number;
}

/** Starts the sweep (at once, then every `intervalMs`); returns what stops it. Nothing when `days` is 0. */
export function startChatRetention(options: ChatRetentionOptions): () => void {
  if (options.days <= 0) return () => {};
  let stopped = false;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping || stopped) return;
    sweeping = true;
    try {
      const before = new Date((options.now ?? Date.now)() - options.days * 24 * 3600_000).toISOString();
      for (const chat of await options.catalog.staleChats(before, SWEEP_LIMIT)) {
        if (stopped) break;
        const caller = { app_id: chat.app_id, ...RETENTION_CALLER };
        await options.admin.expire(caller, chat.chat_id, chat.user_id);
      }
    } catch (error) {
      options.logger.warn(
        { error: errorMessage(error) },
        'erasing chats past CHAT_RETENTION_DAYS failed; retrying later',
      );
    } finally {
      sweeping = false;
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), options.intervalMs ?? 3600_000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
