// The ChatLog port: a chat's committed history (messages, persisted events with their per-chat
// `seq`, context variables), read by any service and appended only by the holder of its lease.
import type { LlmCallUsage, ServerEvent, Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { Lease } from './lease.js';

/** A chat's identity: the tenant that owns it, its id, and the workflow it was started with. */
export interface ChatRef {
  app_id: string;
  user_id: string;
  chat_id: string;
  workflow_id: string;
}

/** A question a run left open for the user (human in the loop). */
export interface InputRequest {
  request_id: string;
  agent: string;
  /** Set when the run waits for a UI tool's response: the tool call it answers. */
  tool_call_id?: string;
}

/** What a reader sees of a chat. */
export interface ChatRecord extends ChatRef {
  created_at: string;
  /** `seq` of the newest persisted event, 0 when there is none. */
  last_seq: number;
  /** The chat's context variables as its last run left them; absent before its first run. */
  context?: Record<string, unknown>;
  /** The input request the last committed step left open, if any. */
  awaiting?: InputRequest;
  /** Highest inbox input whose run has finished. */
  inputs_done: number;
  /** The workflow version the chat's runs use; absent before its first run (and for chats older than versions). */
  workflow_version?: string;
}

/** An event to persist: everything but `seq`, which the log assigns. */
export type NewEvent = ServerEvent extends infer E ? (E extends ServerEvent ? Omit<E, 'seq'> : never) : never;

/** A stored history entry; the engine owns its shape, the log keeps it as JSON. */
export type StoredMessage = Record<string, unknown>;

/** The run a step belongs to. */
export interface RunPart {
  run_id: string;
  /** The inbox input the run executes. */
  input_seq: number;
  workflow_id: string;
  /** LLM calls made in this step. */
  calls?: readonly LlmCallUsage[];
  /** Ends the run and marks its input done. */
  finish?: 'completed' | 'failed' | 'cancelled';
  /**
   * The run's priced usage event, on its finishing step: persisted after the step's other events
   * and put in the usage outbox, from which it is published for billing.
   */
  usage?: Omit<UsageUpdateEvent, 'seq'>;
}

/** What one step of a run persists, all or nothing. */
export interface LogStep {
  messages?: readonly StoredMessage[];
  events?: readonly NewEvent[];
  /** The chat's context variables, replaced whole. */
  context?: Record<string, unknown>;
  /** Leaves this request open for the user; a step without it closes any open request. */
  awaitInput?: InputRequest;
  /** The workflow version the chat's runs use from this step on (kept until a step names another). */
  workflowVersion?: string;
  run?: RunPart;
}

/** A run begun but not finished, as a writer finds it (continued after a crash or hand-back). */
export interface UnfinishedRun {
  run_id: string;
  input_seq: number;
  calls: LlmCallUsage[];
}

/** The only way to append to a chat's log: opened under the chat's lease, refused once it is taken over. */
export interface ChatWriter {
  /** The lease it writes under. */
  readonly lease: Lease;
  /**
   * How far the chat's log goes with this writer's last step: it grows with every step committed
   * to the chat, by any holder. A later writer reads only what lies beyond it.
   */
  readonly position: number;
  readonly chat: ChatRecord;
  readonly messages: readonly StoredMessage[];
  /** Highest inbox `input_seq` whose run has finished: later inputs are still to run. */
  readonly inputsDone: number;
  /** The run that was begun and not finished, if any. */
  readonly unfinishedRun: UnfinishedRun | undefined;
  /**
   * Persists a step atomically and returns its events with their `seq`.
   * @throws LeaseLostError when another holder has taken the chat over, or when this writer was
   * succeeded by one opened from it; nothing is written.
   */
  append(step: LogStep): Promise<ServerEvent[]>;
}

/**
 * A read of a chat's log begun before its lease was held (`ChatLog.prefetch`), so that taking
 * the lease and reading the history cost one round trip. `openWriter` checks it against the
 * lease and reads again whatever it missed.
 */
export interface LogPrefetch {
  readonly tenant: Tenant;
  readonly chatId: string;
}

/** What a process already knows of a chat when it opens a writer on it. */
export interface WriterBasis {
  /**
   * The writer this process last had on the chat (its lease since released). Its state is carried
   * over, and only the steps other holders committed since are read; it can no longer append.
   */
  previous?: ChatWriter;
  /** A read begun before the lease was held, from `prefetch(…, previous)`. */
  prefetched?: LogPrefetch;
}

/**
 * A chat's history. Every read takes the tenant: a chat is found only under the (app_id, user_id)
 * that created it. Writing goes through `openWriter`, which needs the chat's lease.
 */
export interface ChatLog {
  getChat(tenant: Tenant, chatId: string): Promise<ChatRecord | undefined>;
  listMessages(tenant: Tenant, chatId: string): Promise<StoredMessage[]>;
  /** Persisted events with `seq` greater than `afterSeq`, oldest first, at most `limit` of them. */
  listEvents(tenant: Tenant, chatId: string, afterSeq?: number, limit?: number): Promise<ServerEvent[]>;
  /**
   * Starts reading what `openWriter` will need (the steps after `previous`, or the whole history),
   * before the lease is held. Adapters whose reads are local may read nothing ahead.
   */
  prefetch(tenant: Tenant, chatId: string, previous?: ChatWriter): Promise<LogPrefetch>;
  /**
   * Reads the chat's committed state under `lease` and returns the writer that appends after it.
   * When the lease was taken from a holder that never released it, that holder is fenced first:
   * none of its writes can land after this returns. With a `basis`, only what it lacks is read.
   * @throws LeaseLostError when the lease was already taken over again.
   */
  openWriter(lease: Lease, workflowId: string, basis?: WriterBasis): Promise<ChatWriter>;
}
