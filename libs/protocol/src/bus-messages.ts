// Messages between services on the bus. Each carries `v`, the version of its shape.
import { z } from 'zod';
import { Id } from './ids.js';
import { ServerEvent } from './events.js';

/**
 * A request to run a chat's workflow: sent by the gateway once the message is stored as the
 * chat's next input, taken by one executor, which runs every pending input of the chat in order.
 */
export const UserMessageRunRequest = z.object({
  v: z.literal(1),
  kind: z.literal('user_message'),
  request_id: z.string(),
  app_id: Id,
  user_id: Id,
  chat_id: Id,
  workflow_id: Id,
  content: z.string(),
  /** Custom claims of the launch token. */
  context: z.record(z.string(), z.unknown()),
  max_tokens: z.number().int().positive().optional(),
  received_at: z.iso.datetime(),
});
export type UserMessageRunRequest = z.infer<typeof UserMessageRunRequest>;

/** Asks for a chat's pending work (inputs, unpublished usage) to be taken up, after a restart. */
export const ResumeRunRequest = z.object({
  v: z.literal(1),
  kind: z.literal('resume'),
  request_id: z.string(),
  app_id: Id,
  user_id: Id,
  chat_id: Id,
  workflow_id: Id,
});
export type ResumeRunRequest = z.infer<typeof ResumeRunRequest>;

export const RunRequest = z.discriminatedUnion('kind', [UserMessageRunRequest, ResumeRunRequest]);
export type RunRequest = z.infer<typeof RunRequest>;

/** A chat event on its way to the gateways, with the owner it must be shown to. */
export const ChatEventEnvelope = z.object({
  v: z.literal(1),
  app_id: Id,
  user_id: Id,
  event: ServerEvent,
});
export type ChatEventEnvelope = z.infer<typeof ChatEventEnvelope>;

/** Asks the tool-runner to run one tool function. */
export const ToolRequest = z.object({
  v: z.literal(1),
  app_id: Id,
  user_id: Id,
  chat_id: Id,
  workflow_id: Id,
  /** The tool's file, relative to the workflow folder. */
  file: z.string(),
  /** The function the file exports. */
  function: z.string(),
  args: z.record(z.string(), z.unknown()),
  /** Custom claims of the launch token, given to JS tools as their second argument. */
  context: z.record(z.string(), z.unknown()),
  timeout_ms: z.number().int().positive(),
});
export type ToolRequest = z.infer<typeof ToolRequest>;

export const ToolFailure = z.object({ code: z.string(), message: z.string() });
export type ToolFailure = z.infer<typeof ToolFailure>;

export const ToolReply = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(1), ok: z.literal(true), result: z.unknown(), duration_ms: z.number() }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: ToolFailure, duration_ms: z.number() }),
]);
export type ToolReply = z.infer<typeof ToolReply>;

/** One LLM call as the endpoint reported it. */
export const LlmCallUsage = z.object({
  call_id: z.string(),
  agent: z.string(),
  model: z.string(),
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type LlmCallUsage = z.infer<typeof LlmCallUsage>;

/** The unpriced usage of one workflow execution, with every LLM call it made. */
export const RawUsage = z.object({
  v: z.literal(1),
  run_id: z.string(),
  app_id: Id,
  user_id: Id,
  chat_id: Id,
  workflow_id: Id,
  calls: z.array(LlmCallUsage),
  max_tokens: z.number().int().positive().optional(),
  finished_at: z.iso.datetime(),
});
export type RawUsage = z.infer<typeof RawUsage>;
