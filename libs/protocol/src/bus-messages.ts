// Messages between services on the bus. Each carries `v`, the version of its shape.
import { z } from 'zod';
import { Id, WorkflowVersion } from './ids.js';
import { ServerEvent, TokenCounts, UsageUpdateEvent } from './events.js';

/** The version of a message's shape and the tenant whose chat it concerns. */
const Owner = { v: z.literal(1), app_id: Id, user_id: Id };
/** The same for a message about one chat. */
const ChatOf = { ...Owner, chat_id: Id };

/**
 * "This chat has work": sent by the gateway once an input is in the chat's inbox (and by an
 * executor's recovery sweep). Ids only: the executor that takes it reads the work from the inbox.
 * The trace context travels in the `traceparent` header.
 */
export const ChatNudge = z.object({
  ...ChatOf,
  workflow_id: Id,
  /** The number of the input the gateway accepted: where the executor starts reading the inbox. */
  input_seq: z.number().int().positive().optional(),
});
export type ChatNudge = z.infer<typeof ChatNudge>;

/** Asks the executor serving a chat to cancel its current run (request/reply on the chat's control subject). */
export const ChatControl = z.object({
  ...ChatOf,
  action: z.literal('cancel'),
  /** Cancel only this run. */
  run_id: z.string().optional(),
});
export type ChatControl = z.infer<typeof ChatControl>;

/** What the serving executor did: the run it cancelled, or null when none (or not that one) was going. */
export const ChatControlReply = z.object({
  v: z.literal(1),
  run_id: z.string().nullable(),
});
export type ChatControlReply = z.infer<typeof ChatControlReply>;

/**
 * A chat is being deleted (`erased: false`: its sockets are closed with 4410, its executor stops
 * serving it) or was (`erased: true`: what any process kept of it is dropped, and the chat id may
 * start a new chat).
 */
export const ChatDeleted = z.object({ ...ChatOf, erased: z.boolean() });
export type ChatDeleted = z.infer<typeof ChatDeleted>;

/** A chat event on its way to the gateways, with the owner it must be shown to. */
export const ChatEventEnvelope = z.object({
  ...Owner,
  event: ServerEvent,
});
export type ChatEventEnvelope = z.infer<typeof ChatEventEnvelope>;

/**
 * What a gateway checks of each live event on its way to a socket: whom it is for, and that it is
 * an event. The event itself was built, typed, by the executor that persisted it; checking the
 * whole union again for every event of every socket would be the gateway's largest cost per event.
 */
export const LiveEventEnvelope = z.object({
  ...Owner,
  event: z.looseObject({ type: z.string(), chat_id: Id, seq: z.number().int().positive().optional() }),
});

/** Asks the tool-runner to run one tool function. */
export const ToolRequest = z.object({
  ...ChatOf,
  workflow_id: Id,
  /** The workflow version whose code runs the tool: the chat's pinned one, not what is on disk. */
  workflow_version: WorkflowVersion.optional(),
  /** The tool's file, relative to the workflow folder. */
  file: z.string(),
  /** The function the file exports. */
  function: z.string(),
  args: z.record(z.string(), z.unknown()),
  /** Custom claims of the launch token, given to JS tools as their second argument. */
  context: z.record(z.string(), z.unknown()),
  /**
   * The chat's context variables with its ids (`chat_id`, `app_id`, `user_id`, `workflow_name`),
   * for a tool that takes them (a Python `context_variables` parameter); absent otherwise.
   */
  variables: z.record(z.string(), z.unknown()).optional(),
  timeout_ms: z.number().int().positive(),
  /**
   * The call's id, unique within the chat (`<run_id>:<tool_call_id>`): a request sent again with it
   * (after a lost reply) gets the first call's result instead of running the tool twice.
   */
  call_id: z.string().min(1).max(512).optional(),
  /**
   * Set when the function is a hook of its agent's reply, called the Python runtime's way:
   * `update_agent_state(agent, messages)` or `process_message_before_send(sender, message,
   * recipient, silent)`, from `args` (see HookInput in the tool-runner).
   */
  hook: z.enum(['update_agent_state', 'process_message_before_send']).optional(),
});
export type ToolRequest = z.infer<typeof ToolRequest>;

export const ToolFailure = z.object({ code: z.string(), message: z.string() });
export type ToolFailure = z.infer<typeof ToolFailure>;

export const ToolReply = z.discriminatedUnion('ok', [
  z.object({
    v: z.literal(1),
    ok: z.literal(true),
    result: z.unknown(),
    duration_ms: z.number(),
    /** Context variables the tool set, to be kept with the chat. */
    variables: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: ToolFailure, duration_ms: z.number() }),
]);
export type ToolReply = z.infer<typeof ToolReply>;

/** One LLM call as the endpoint reported it. */
export const LlmCallUsage = z.object({
  call_id: z.string(),
  agent: z.string(),
  model: z.string(),
  ...TokenCounts.shape,
  /** The endpoint reported no usage (or the call was cut short): the runtime counted the tokens. */
  estimated: z.boolean().optional(),
});
export type LlmCallUsage = z.infer<typeof LlmCallUsage>;

/**
 * A run's priced usage, as persisted in its chat's log by the executor that finished the run:
 * on its way to the usage-emitter, which delivers it to billing.
 */
export const UsageRecord = z.object({
  v: z.literal(1),
  event: UsageUpdateEvent,
});
export type UsageRecord = z.infer<typeof UsageRecord>;

/**
 * A usage event a webhook sink gave up on (an answer it will not retry, or retries past their
 * window), kept on `<prefix>.usage_dead.<sink_id>.<key>` until `mozaiks usage replay` delivers it.
 */
export const UsageDeadLetter = z.object({
  v: z.literal(1),
  /** The sink's id: a hash of its URL. */
  sink_id: z.string(),
  /** The sink's host, as logs and metrics name it. */
  sink: z.string(),
  event_id: z.string(),
  app_id: z.string(),
  /** Deliveries tried. */
  attempts: z.number().int().positive(),
  /** The endpoint's last HTTP status; null when it never answered. */
  last_status: z.number().int().nullable(),
  reason: z.string(),
  dead_at: z.iso.datetime(),
  event: UsageUpdateEvent,
});
export type UsageDeadLetter = z.infer<typeof UsageDeadLetter>;

/** Asks the executors, which read the store, for the files of a stored workflow version. */
export const WorkflowVersionRequest = z.object({
  v: z.literal(1),
  workflow_id: Id,
  workflow_version: WorkflowVersion,
});
export type WorkflowVersionRequest = z.infer<typeof WorkflowVersionRequest>;

/** A stored version's files (path inside the folder → text), or `found: false`. */
export const WorkflowVersionReply = z.discriminatedUnion('found', [
  z.object({ v: z.literal(1), found: z.literal(true), files: z.record(z.string(), z.string()) }),
  z.object({ v: z.literal(1), found: z.literal(false) }),
]);
export type WorkflowVersionReply = z.infer<typeof WorkflowVersionReply>;
