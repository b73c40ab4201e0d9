// The ChatStore port: chats, their message history and their event log, always under a tenant.
import type { LlmCallUsage, ServerEvent, Tenant, UserMessageRunRequest } from '@mozaiks/protocol';

export interface ChatRecord {
  app_id: string;
  user_id: string;
  chat_id: string;
  /** The workflow the chat was started with. */
  workflow_id: string;
  created_at: string;
  /** `seq` of the newest persisted event, 0 when there is none. */
  last_seq: number;
  /** The chat's context variables as its last run left them; absent before its first run. */
  context?: Record<string, unknown>;
}

/** An event to persist: everything but `seq`, which the store assigns. */
export type NewEvent = ServerEvent extends infer E ? (E extends ServerEvent ? Omit<E, 'seq'> : never) : never;

/** A stored history entry; the engine owns its shape, the store keeps it as JSON. */
export type StoredMessage = Record<string, unknown>;

/** A user message accepted for a chat and waiting for (or being given) its run. */
export interface PendingInput {
  /** Position among the chat's inputs, from 1: runs happen in this order. */
  input_seq: number;
  request_id: string;
  /**
   * `message`: the user said `content`. `open`: a client opened the chat for the first time.
   * `input`: the user answered the input request `answers`. @default 'message'
   */
  kind?: 'message' | 'open' | 'input';
  /** The input request an `input` answers. */
  answers?: { request_id: string; agent: string };
  workflow_id: string;
  content: string;
  /** Custom claims of the launch token. */
  context: Record<string, unknown>;
  max_tokens?: number;
  received_at: string;
  /** W3C trace context of the request that brought it. */
  traceparent?: string;
}

export type NewInput = Omit<PendingInput, 'input_seq'>;

/** The input a user-message run request stands for: what the gateway stores, and the executor confirms. */
export function inputFromRequest(request: UserMessageRunRequest, traceparent?: string): NewInput {
  return {
    request_id: request.request_id,
    workflow_id: request.workflow_id,
    content: request.content,
    context: request.context,
    ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
    received_at: request.received_at,
    ...(traceparent ? { traceparent } : {}),
  };
}

/** One execution: the run of one input, with every LLM call it made (across executors). */
export interface RunRecord {
  run_id: string;
  app_id: string;
  user_id: string;
  chat_id: string;
  workflow_id: string;
  input_seq: number;
  status: 'running' | 'completed' | 'failed';
  calls: LlmCallUsage[];
  max_tokens?: number;
  finished_at?: string;
  /** Whether its raw usage reached the bus. */
  usage_published: boolean;
}

/** What one step of a run persists, all or nothing. */
export interface Commit {
  messages?: readonly StoredMessage[];
  events?: readonly NewEvent[];
  /** Opens an input request on the chat (the run waits for the user). */
  awaitInput?: { request_id: string; agent: string };
  /** The chat's context variables, replaced whole. */
  context?: Record<string, unknown>;
  /**
   * The run this step belongs to, created with its first step from the input it runs: its calls
   * are added, and `finish` closes it and its input.
   */
  run?: { run_id: string; input: PendingInput; calls?: readonly LlmCallUsage[]; finish?: 'completed' | 'failed' };
}

/**
 * Persistence of chats. Every method takes the tenant that owns the chat: a chat is found only
 * under the (app_id, user_id) that created it, so one tenant can never read or write another's.
 */
export interface ChatStore {
  /** The chat, created for `workflowId` if the tenant has none with this id. */
  ensureChat(tenant: Tenant, chatId: string, workflowId: string): Promise<ChatRecord>;
  getChat(tenant: Tenant, chatId: string): Promise<ChatRecord | undefined>;
  listMessages(tenant: Tenant, chatId: string): Promise<StoredMessage[]>;
  /**
   * Persists an event under the chat's next `seq` and returns it with its seq. Idempotent on
   * `event_id`: appending an event again returns the stored one and adds nothing.
   */
  appendEvent(tenant: Tenant, chatId: string, event: NewEvent): Promise<ServerEvent>;
  /** Events with `seq` greater than `afterSeq`, oldest first. */
  listEvents(tenant: Tenant, chatId: string, afterSeq?: number): Promise<ServerEvent[]>;
  /**
   * Accepts a user message for the chat (created for `workflow_id` if new), after the chat's
   * earlier inputs. Idempotent on `request_id`.
   */
  enqueueInput(tenant: Tenant, chatId: string, input: NewInput): Promise<PendingInput>;
  /** The chat's open input request, if a run is waiting for the user. */
  openInputRequest(tenant: Tenant, chatId: string): Promise<{ request_id: string; agent: string } | undefined>;
  /**
   * Accepts the user's answer to the open input request `requestId` as the chat's next input and
   * closes the request; undefined (and nothing stored) when no such request is open.
   */
  answerInputRequest(tenant: Tenant, chatId: string, requestId: string, input: NewInput): Promise<PendingInput | undefined>;
  /** Withdraws an input that could not be announced; a no-op once its run has begun. */
  cancelInput(tenant: Tenant, chatId: string, requestId: string): Promise<void>;
  /** The input at `inputSeq`, whatever its state. */
  inputOf(tenant: Tenant, chatId: string, inputSeq: number): Promise<PendingInput | undefined>;
  /** The chat's oldest input whose run has not finished. */
  nextInput(tenant: Tenant, chatId: string): Promise<PendingInput | undefined>;
  getRun(tenant: Tenant, chatId: string, runId: string): Promise<RunRecord | undefined>;
  /** Finished runs of the chat whose usage has not been published yet. */
  runsAwaitingUsage(tenant: Tenant, chatId: string): Promise<RunRecord[]>;
  markUsagePublished(tenant: Tenant, chatId: string, runId: string): Promise<void>;
  /** Persists a step of a run atomically and returns its events with their `seq`. */
  commit(tenant: Tenant, chatId: string, change: Commit): Promise<ServerEvent[]>;
  /**
   * Takes or renews the chat's lease for `holder` for `ttlMs`; false while another holder's lease
   * is unexpired. The holder of a chat's lease is its only writer.
   */
  acquireLease(tenant: Tenant, chatId: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(tenant: Tenant, chatId: string, holder: string): Promise<void>;
  /**
   * Chats of every tenant with work left (pending inputs, unpublished usage) and no unexpired
   * lease: for an executor's recovery sweep, the one query that is not scoped to a tenant.
   */
  chatsWithPendingWork(): Promise<ChatRecord[]>;
  close(): Promise<void>;
}

/** The chat does not exist for this tenant. */
export class ChatNotFoundError extends Error {
  override name = 'ChatNotFoundError';
  constructor(tenant: Tenant, chatId: string) {
    super(`no chat ${chatId} for app ${tenant.app_id}, user ${tenant.user_id}`);
  }
}
