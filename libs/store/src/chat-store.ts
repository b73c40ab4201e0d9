// The ChatStore port: chats, their message history and their event log, always under a tenant.
import type { ServerEvent, Tenant } from '@mozaiks/protocol';

export interface ChatRecord {
  app_id: string;
  user_id: string;
  chat_id: string;
  /** The workflow the chat was started with. */
  workflow_id: string;
  created_at: string;
  /** `seq` of the newest persisted event, 0 when there is none. */
  last_seq: number;
}

/** An event to persist: everything but `seq`, which the store assigns. */
export type NewEvent = ServerEvent extends infer E ? (E extends ServerEvent ? Omit<E, 'seq'> : never) : never;

/** A stored history entry; the engine owns its shape, the store keeps it as JSON. */
export type StoredMessage = Record<string, unknown>;

/**
 * Persistence of chats. Every method takes the tenant that owns the chat: a chat is found only
 * under the (app_id, user_id) that created it, so one tenant can never read or write another's.
 */
export interface ChatStore {
  /** The chat, created for `workflowId` if the tenant has none with this id. */
  ensureChat(tenant: Tenant, chatId: string, workflowId: string): Promise<ChatRecord>;
  getChat(tenant: Tenant, chatId: string): Promise<ChatRecord | undefined>;
  /** Appends to the chat's history, in order, durably. */
  appendMessages(tenant: Tenant, chatId: string, messages: readonly StoredMessage[]): Promise<void>;
  listMessages(tenant: Tenant, chatId: string): Promise<StoredMessage[]>;
  /**
   * Persists an event under the chat's next `seq` and returns it with its seq. Idempotent on
   * `event_id`: appending an event again returns the stored one and adds nothing.
   */
  appendEvent(tenant: Tenant, chatId: string, event: NewEvent): Promise<ServerEvent>;
  /** Events with `seq` greater than `afterSeq`, oldest first. */
  listEvents(tenant: Tenant, chatId: string, afterSeq?: number): Promise<ServerEvent[]>;
  close(): Promise<void>;
}

/** The chat does not exist for this tenant. */
export class ChatNotFoundError extends Error {
  override name = 'ChatNotFoundError';
  constructor(tenant: Tenant, chatId: string) {
    super(`no chat ${chatId} for app ${tenant.app_id}, user ${tenant.user_id}`);
  }
}
