// The ChatCatalog port: what the API over chats (and `mozaiks chats`) reads of many chats at once,
// one app at a time: a summary per chat, newest activity first, page by page.
import type { ChatSummary, ServerEvent, Tenant } from '@mozaiks/protocol';
import type { StoredMessage } from './chat-log.js';

export type { ChatSummary, RunStatus } from '@mozaiks/protocol';

/** Where a page of chats ends: the next page starts after this chat. */
export interface CatalogPosition {
  last_activity_at: string;
  user_id: string;
  chat_id: string;
}

export interface CatalogQuery {
  app_id: string;
  user_id?: string;
  workflow_id?: string;
  /** Chats in the page. */
  limit: number;
  /** The last chat of the previous page. */
  after?: CatalogPosition;
}

/** Length a chat's title is cut to. */
export const TITLE_LENGTH = 80;

export interface ChatCatalog {
  /**
   * The app's chats (of one user, of one workflow, when given), newest activity first, then by
   * user id and chat id, descending: `limit` of them after `after`.
   */
  listChats(query: CatalogQuery): Promise<ChatSummary[]>;
  /** One chat's summary; undefined when the tenant has no such chat. */
  summary(tenant: Tenant, chatId: string): Promise<ChatSummary | undefined>;
  /** Every chat id of a user in an app. */
  chatIdsOf(tenant: Tenant): Promise<string[]>;
  /** Chats of every app whose last activity is before `before` (ISO 8601), at most `limit`: for the retention sweep. */
  staleChats(before: string, limit: number): Promise<StaleChat[]>;
  /**
   * The chat as it was at `atSeq`, to start a new chat from: its history, context variables and
   * events up to there. `atSeq` must end a run (its last event, or its `workflow_complete` with only
   * billing after it), which is also where the next user message starts; or be 0. Undefined for no
   * such chat; `not_a_fork_point` for any other seq (the middle of a run, or a run stored before
   * runs noted their ends).
   */
  forkPoint(tenant: Tenant, chatId: string, atSeq: number): Promise<ForkPoint | 'not_a_fork_point' | undefined>;
  /**
   * Removes every trace of the chat: history, events, inputs, runs and their usage outbox, context,
   * lease. Call it holding the chat's lease, so no holder writes to it meanwhile (the lease goes
   * too: a writer that held it is refused from then on). Counts what it removed; zeros when the
   * tenant has no such chat.
   */
  erase(tenant: Tenant, chatId: string): Promise<ErasedChat>;
}

/** A chat as it was at a fork point. */
export interface ForkPoint {
  workflow_id: string;
  workflow_version?: string;
  messages: StoredMessage[];
  context?: Record<string, unknown>;
  /** Its events up to the fork point, oldest first. */
  events: ServerEvent[];
}

/**
 * Whether `atSeq` ends the run whose finishing step's events end at `endSeq`; `from` holds the
 * chat's events from `atSeq` to `endSeq` (fewer when old events were pruned).
 */
export function endsRun(atSeq: number, endSeq: number, from: readonly ServerEvent[]): boolean {
  if (atSeq === endSeq) return true;
  const [first, ...after] = from;
  return first?.seq === atSeq && first.type === 'workflow_complete' && after.every((e) => e.type === 'usage_update');
}

/** A chat without activity for too long. */
export interface StaleChat {
  app_id: string;
  user_id: string;
  chat_id: string;
}

/** What erasing a chat removed. */
export interface ErasedChat {
  chats: number;
  events: number;
}

/** A title from a first message: its first `TITLE_LENGTH` characters (code points, never half of one). */
export function titleOf(content: string | null | undefined): string | null {
  if (content === undefined || content === null) return null;
  return [...content].slice(0, TITLE_LENGTH).join('');
}
