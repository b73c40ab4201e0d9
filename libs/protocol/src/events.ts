// Events the runtime sends to clients. Every event names its chat, has a unique `event_id` and a
// `timestamp`; an event that was persisted also has `seq`, its position in the chat's history.
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { WorkflowVersion } from './ids.js';

const Envelope = {
  chat_id: z.string(),
  event_id: z.string(),
  timestamp: z.iso.datetime(),
  /** Position in the chat's persisted history, from 1, gapless; absent on events that are not persisted. */
  seq: z.number().int().positive().optional(),
};

/** Token counts as the LLM endpoint reported them. */
export const TokenCounts = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type TokenCounts = z.infer<typeof TokenCounts>;

export const AgentMessageEvent = z.object({
  type: z.literal('agent_message'),
  ...Envelope,
  run_id: z.string(),
  /** The agent that spoke, as named in agents.yaml. */
  agent: z.string(),
  content: z.string(),
  /** The reply parsed, for an agent with a structured output; it conforms to the agent's schema. */
  structured: z.unknown().optional(),
});
export type AgentMessageEvent = z.infer<typeof AgentMessageEvent>;

/** How a call of a workflow's function ended: a tool's (`tool_result`) or a hook's (`hook`). */
const CallOutcome = {
  ok: z.boolean(),
  /** Its JSON result, when `ok`. */
  result: z.unknown().optional(),
  /** Why it failed, when not `ok`. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  duration_ms: z.number().nonnegative(),
};

/** Text of an agent's reply as the model produces it; live only (never persisted, no `seq`). */
export const AgentMessageDeltaEvent = z.object({
  type: z.literal('agent_message_delta'),
  ...Envelope,
  run_id: z.string(),
  agent: z.string(),
  /** The next piece of the reply's text. */
  delta: z.string(),
});
export type AgentMessageDeltaEvent = z.infer<typeof AgentMessageDeltaEvent>;

export const ToolCallEvent = z.object({
  type: z.literal('tool_call'),
  ...Envelope,
  run_id: z.string(),
  agent: z.string(),
  tool_call_id: z.string(),
  /** The tool's name, as the model calls it. */
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type ToolCallEvent = z.infer<typeof ToolCallEvent>;

export const ToolResultEvent = z.object({
  type: z.literal('tool_result'),
  ...Envelope,
  run_id: z.string(),
  agent: z.string(),
  tool_call_id: z.string(),
  name: z.string(),
  ...CallOutcome,
});
export type ToolResultEvent = z.infer<typeof ToolResultEvent>;

/** Why a run ended. */
export const CompletionReason = z.enum([
  'agents_done',
  'max_turns',
  'terminated',
  'awaiting_user',
  'awaiting_input',
  'error',
  'cancelled',
]);
export type CompletionReason = z.infer<typeof CompletionReason>;

export const WorkflowCompleteEvent = z.object({
  type: z.literal('workflow_complete'),
  ...Envelope,
  run_id: z.string(),
  workflow_id: z.string(),
  /** The version of the workflow's files the run used (see WorkflowVersion). */
  workflow_version: WorkflowVersion.optional(),
  status: z.enum(['completed', 'failed', 'cancelled']),
  reason: CompletionReason,
  /** Agent turns taken by this run. */
  turns: z.number().int().nonnegative(),
  duration_ms: z.number().nonnegative(),
});
export type WorkflowCompleteEvent = z.infer<typeof WorkflowCompleteEvent>;

/** Usage of one model within a run. */
export const ModelUsage = TokenCounts.extend({
  model: z.string(),
  calls: z.number().int().positive(),
  cost_usd: z.number().nonnegative(),
});
export type ModelUsage = z.infer<typeof ModelUsage>;

export const UsageUpdateEvent = z.object({
  type: z.literal('usage_update'),
  ...Envelope,
  user_id: z.string(),
  app_id: z.string(),
  workflow_id: z.string(),
  /** The version of the workflow's files the run used, so billing can tell versions apart. */
  workflow_version: WorkflowVersion.optional(),
  run_id: z.string(),
  tokens: TokenCounts,
  /** Same as `tokens.total_tokens`, for clients that read it at the top level. */
  total_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  /** The breakdown by model. */
  models: z.array(ModelUsage),
  /** The token's advisory `max_tokens`, when it had one: reported, never enforced. */
  max_tokens: z.number().int().positive().optional(),
  /** True when some call's tokens were counted by the runtime because the endpoint reported none. */
  estimated: z.boolean().optional(),
});
export type UsageUpdateEvent = z.infer<typeof UsageUpdateEvent>;

/** The stable id of a run's usage event: billing sinks de-duplicate on it. */
export function usageEventId(runId: string): string {
  return `usage_${runId}`;
}

/** The run waits for the user: answer with a `user_input` naming `request_id`. */
export const InputRequestEvent = z.object({
  type: z.literal('input_request'),
  ...Envelope,
  run_id: z.string(),
  /** Name this in the `user_input` that answers. */
  request_id: z.string(),
  /** The agent that handed the conversation to the user; it speaks first after the answer. */
  agent: z.string(),
  /** What the agent said last, the question to answer. */
  prompt: z.string(),
  /** When the user is to choose (ManualPattern): the accepted answers, the agents' names. */
  options: z.array(z.string()).optional(),
});
export type InputRequestEvent = z.infer<typeof InputRequestEvent>;

/**
 * An agent called a UI tool: show `component` with `payload`, then send a `ui_tool_response` naming
 * `tool_call_id`. The run ends waiting (`workflow_complete` with reason `awaiting_input`).
 */
export const UiToolEvent = z.object({
  type: z.literal('ui_tool'),
  ...Envelope,
  run_id: z.string(),
  agent: z.string(),
  /** Name this in the `ui_tool_response`. */
  tool_call_id: z.string(),
  /** The tool's name, as the model called it. */
  name: z.string(),
  /** The client's component to show, from tools.yaml `ui.component`. */
  component: z.string(),
  /** `inline`: in the conversation; `artifact`: beside it (the last one shown stays up). */
  display: z.enum(['inline', 'artifact']),
  /** What the component shows: the arguments the model gave the tool. */
  payload: z.record(z.string(), z.unknown()),
});
export type UiToolEvent = z.infer<typeof UiToolEvent>;

/** Points of a chat where the runtime calls a workflow's own function (hooks.yaml, tools.yaml `lifecycle_tools`). */
export const HOOK_POINTS = [
  'before_chat',
  'after_chat',
  'before_agent',
  'after_agent',
  'update_agent_state',
  'process_message_before_send',
] as const;

/**
 * The runtime called a workflow's function at a point of the chat: every lifecycle tool
 * (before_chat, after_chat, before_agent, after_agent), and a hook of an agent's reply
 * (update_agent_state, process_message_before_send) when it failed: one that works shows in its
 * effect. A failure never stops the run.
 */
export const HookEvent = z.object({
  type: z.literal('hook'),
  ...Envelope,
  run_id: z.string(),
  hook: z.enum(HOOK_POINTS),
  /** The agent whose turn or reply it was called for; absent for before_chat and after_chat. */
  agent: z.string().optional(),
  /** The function's name. */
  name: z.string(),
  ...CallOutcome,
});
export type HookEvent = z.infer<typeof HookEvent>;

/** One model call of a run as the endpoint counted it; the run's priced total follows in `usage_update`. */
export const UsageDeltaEvent = z.object({
  type: z.literal('usage_delta'),
  ...Envelope,
  run_id: z.string(),
  /** The agent that made the call (or the runtime's router: `speaker_selector`, `user_router`). */
  agent: z.string(),
  model: z.string(),
  ...TokenCounts.shape,
  /** How long the call took, when it was timed. */
  duration_ms: z.number().nonnegative().optional(),
  /** The endpoint reported no usage: the runtime counted the tokens. */
  estimated: z.boolean().optional(),
});
export type UsageDeltaEvent = z.infer<typeof UsageDeltaEvent>;

export const ErrorEvent = z.object({
  type: z.literal('error'),
  ...Envelope,
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** Whether sending the same thing again may succeed. */
  retryable: z.boolean(),
  /** With `rate_limited`: how long to wait before sending again, in milliseconds. */
  retry_after_ms: z.number().int().nonnegative().optional(),
  run_id: z.string().optional(),
});
export type ErrorEvent = z.infer<typeof ErrorEvent>;

/** The socket's launch token was replaced by a `refresh`; live only (never persisted, no `seq`). */
export const TokenRefreshedEvent = z.object({
  type: z.literal('token_refreshed'),
  ...Envelope,
  /** When the new token expires (its `exp`). */
  expires_at: z.iso.datetime(),
});
export type TokenRefreshedEvent = z.infer<typeof TokenRefreshedEvent>;

export const ServerEvent = z.discriminatedUnion('type', [
  AgentMessageEvent,
  AgentMessageDeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  WorkflowCompleteEvent,
  UsageUpdateEvent,
  UsageDeltaEvent,
  InputRequestEvent,
  UiToolEvent,
  HookEvent,
  ErrorEvent,
  TokenRefreshedEvent,
]);
export type ServerEvent = z.infer<typeof ServerEvent>;
export type ServerEventType = ServerEvent['type'];

export const SERVER_EVENT_TYPES = ServerEvent.options.map((o) => o.shape.type.value);

type EnvelopeKeys = 'chat_id' | 'event_id' | 'timestamp' | 'seq';
/** An event as its producer makes it, before the envelope (chat, id, time, seq) is stamped on. */
export type EventBody = ServerEvent extends infer E ? (E extends ServerEvent ? Omit<E, EnvelopeKeys> : never) : never;
