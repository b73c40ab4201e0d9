// The ChatInbox port: a chat's work. Inputs the gateway accepted (written once, in acceptance
// order), the chat's lease with its fencing epoch, and the outbox of usage still to publish.
import type { Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatRef, InputRequest } from './chat-log.js';
import type { Lease, LeaseProgress } from './lease.js';

/** What a user (or a client opening the chat) gave a chat, waiting for its run. */
export interface NewInput {
  /** Unique within the chat: accepting the same id again stores nothing. */
  request_id: string;
  /**
   * `message`: the user said `content`. `open`: a client opened the chat for the first time.
   * `input`: the user answered the input request `answers`. @default 'message'
   */
  kind?: 'message' | 'open' | 'input';
  /** The input request an `input` answers. */
  answers?: InputRequest;
  workflow_id: string;
  content: string;
  /** Custom claims of the launch token. */
  context: Record<string, unknown>;
  max_tokens?: number;
  received_at: string;
  /** W3C trace context of the request that brought it: the run continues this trace. */
  traceparent?: string;
}

/** An accepted input: its position among the chat's inputs, from 1, is the order runs happen in. */
export interface PendingInput extends NewInput {
  input_seq: number;
}

/** The request id under which the answer to an input request is accepted: once per request. */
export function answerRequestId(requestId: string): string {
  return `answer:${requestId}`;
}

/** An input as stored; `created` is false when it was accepted before under the same request id. */
export interface Accepted {
  input: PendingInput;
  created: boolean;
}

/** A usage event published for billing: the chat whose outbox holds it, and its id. */
export interface UsageMark {
  tenant: Tenant;
  chatId: string;
  eventId: string;
}

/** A chat's work, always under a tenant. */
export interface ChatInbox {
  /**
   * Accepts an input as the chat's next (creating the chat for `input.workflow_id` if the tenant has
   * none). Idempotent on `request_id`: `created` is false and the stored input is returned.
   */
  accept(tenant: Tenant, chatId: string, input: NewInput): Promise<Accepted>;
  /**
   * Accepts `input` only as the chat's input number `next`, that is when every input before it has
   * been run (`next` = the log's inputs done + 1); undefined when another input has that number.
   * An input already accepted under the same request id is returned as `accept` does.
   */
  acceptIfIdle(tenant: Tenant, chatId: string, input: NewInput, next: number): Promise<Accepted | undefined>;
  /** Inputs after `afterSeq`, oldest first (at most `limit`). */
  pending(tenant: Tenant, chatId: string, afterSeq: number, limit?: number): Promise<PendingInput[]>;
  /**
   * Takes the chat's lease for `ttlMs` if no one holds it unexpired. Otherwise returns undefined and
   * marks the chat as wanted, so that its holder's `release` says so and the holder looks at the
   * inbox once more: work that arrived while the chat was held is never left waiting for a retry.
   */
  acquire(tenant: Tenant, chatId: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Extends each lease (an executor renews every chat it holds at once: one write, not one per
   * chat); an entry is false once another holder has taken that lease (stop writing).
   */
  renew(leases: readonly Lease[], ttlMs: number): Promise<boolean[]>;
  /**
   * Gives the lease up with what the next holder should know. `wanted` is true when an `acquire`
   * was refused while it was held: the caller should look for pending inputs again.
   */
  release(lease: Lease, progress: LeaseProgress): Promise<{ wanted: boolean }>;
  /** Usage events persisted in the chat's log and not yet published, oldest first. */
  unpublishedUsage(tenant: Tenant, chatId: string): Promise<UsageUpdateEvent[]>;
  /**
   * Takes published usage events out of their chats' outboxes: every mark at once (one transaction,
   * or one round trip), so an executor marks what many chats published together.
   */
  markUsagePublished(marks: readonly UsageMark[]): Promise<void>;
  /**
   * Chats of every tenant with work left (inputs not run, usage not published) and no live lease:
   * for an executor's recovery sweep, the one query not scoped to a tenant.
   */
  chatsWithWork(): Promise<ChatRef[]>;
}
