// The engine's ports: everything it needs from the world, so it runs and is tested without I/O.
import { ErrorCode, RuntimeError } from '@mozaiks/protocol';
import type { EventBody, LlmCallUsage, ToolFailure } from '@mozaiks/protocol';
import type { HookDefinition, ToolDefinition } from '@mozaiks/workflows';

export interface LlmToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them: JSON text, not yet trusted. */
  arguments: string;
}

export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; name?: string }
  | { role: 'assistant'; content: string | null; tool_calls?: LlmToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface LlmToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface LlmRequest {
  /** The agent the call is made for; reported with its usage. */
  agent: string;
  /** The agent's model; the client's default when unset. */
  model?: string;
  temperature?: number;
  max_tokens?: number;
  messages: LlmMessage[];
  tools: LlmToolSpec[];
  /** Ask for a JSON reply of this schema. */
  response_format?: { name: string; schema: Record<string, unknown> };
}

export interface LlmResponse {
  content: string | null;
  tool_calls: LlmToolCall[];
  /** Tokens as the endpoint reported them for this call. */
  usage: LlmCallUsage;
}

/** Where an LLM client says what went wrong with a call (the run's logger, with its chat's ids). */
export interface LlmCallLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface LlmCallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Receives the reply's text as the model produces it, when the client streams. */
  onDelta?: (text: string) => void;
  /** Where retries and failures are reported. */
  log?: LlmCallLog;
}

/**
 * A model call that failed for good (after its retries), was aborted, or answered what the agent
 * cannot use: the client is told the endpoint's words (`llm_error`), never the runtime's insides.
 */
export class LlmCallError extends RuntimeError {
  override name = 'LlmCallError';
  /** The endpoint's HTTP status, when it answered. */
  readonly status: number | undefined;
  /** What an aborted call had consumed (counted here: the endpoint reports nothing for it). */
  readonly usage: LlmCallUsage | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; retryable: boolean; status?: number; usage?: LlmCallUsage },
  ) {
    super(ErrorCode.LlmError, message, options);
    this.status = options.status;
    this.usage = options.usage;
  }
}

/** A chat-completions endpoint. Throws `LlmCallError` (or any error) when the call fails for good. */
export interface LlmClient {
  complete(request: LlmRequest, options?: LlmCallOptions): Promise<LlmResponse>;
}

export type ToolOutcome =
  | { ok: true; result: unknown; duration_ms: number; variables?: Record<string, unknown> }
  | { ok: false; error: ToolFailure; duration_ms: number };

export interface ToolInvocation {
  tool: ToolDefinition;
  agent: string;
  tool_call_id: string;
  args: Record<string, unknown>;
  /** The chat's context variables, for a tool that takes them (`takes_context`) and for hooks. */
  variables?: Record<string, unknown>;
  /** The function is a hook, called with its agent's view (see ToolRequest.hook). */
  hook?: HookDefinition['type'];
}

/** Runs a tool somewhere else. Failures come back as `{ ok: false }`, never as a throw. */
export interface ToolInvoker {
  invoke(invocation: ToolInvocation): Promise<ToolOutcome>;
}

/** One entry of a chat's history, as the engine reads and writes it. `run_id` names the run that wrote it. */
export type ChatMessage =
  | { role: 'user'; content: string; run_id?: string }
  | {
      role: 'assistant';
      agent: string;
      content: string | null;
      tool_calls?: LlmToolCall[];
      run_id?: string;
      /** The agent's last word in its turn (no tool calls follow). */
      final?: boolean;
      /** Set when this reply ended the run with the termination marker. */
      ended?: 'terminated';
      /** On a final reply: where the run goes next (an agent, `user`, `terminate`, or null: done). */
      next?: string | null;
      /** Its tool call was made by the runtime from the structured reply (auto_tool_mode): the turn ends with the result. */
      auto_tool?: true;
    }
  | {
      role: 'tool';
      agent: string;
      tool_call_id: string;
      name: string;
      content: string;
      run_id?: string;
      /** Set on the last result of a round in which a tool handed the conversation over: the turn ended here. */
      ends_turn?: { next: string | null };
    };

/** What one step of a run changes; persisted all or nothing. */
export interface RunStep {
  messages?: ChatMessage[];
  events?: EventBody[];
  /** LLM calls made in this step, for usage. */
  calls?: LlmCallUsage[];
  /** Ends the run (and its input) with this status. */
  finish?: 'completed' | 'failed' | 'cancelled';
  /** Leaves the chat waiting for the user's answer to this request. */
  awaitInput?: { request_id: string; agent: string; tool_call_id?: string };
  /** The chat's context variables after this step, when it changed them. */
  variables?: Record<string, unknown>;
}

/**
 * A chat's durable record as a run sees it: the history, and a commit that persists a step before
 * anyone hears of it. A run that is started again after a crash resumes from what was committed.
 */
export interface RunJournal {
  load(): Promise<ChatMessage[]>;
  commit(step: RunStep): Promise<void>;
  /** Shows an ephemeral event (a reply's text as it streams) live, without persisting it. */
  live(event: EventBody): void;
}
