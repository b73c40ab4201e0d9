// Messages a client sends over the WebSocket. Parsed once, at the gateway, by `parseClientMessage`.
import { z } from 'zod';
import { Id } from './ids.js';

/** Largest `content` a user message may carry, in characters. */
export const MAX_USER_CONTENT = 100_000;

export const UserMessage = z.strictObject({
  type: z.literal('user_message'),
  content: z.string().min(1).max(MAX_USER_CONTENT),
  /** Optional; when present it must equal the token's `chat_id`. */
  chat_id: Id.optional(),
  /** Optional; when present it must equal the token's `user_id`. */
  user_id: Id.optional(),
});
export type UserMessage = z.infer<typeof UserMessage>;

/** Asks for every persisted event after `last_seq`, then the live stream without gaps or repeats. */
export const ResumeMessage = z.strictObject({
  type: z.literal('resume'),
  /** The highest `seq` the client has; 0 for the chat's whole history. */
  last_seq: z.number().int().nonnegative(),
});
export type ResumeMessage = z.infer<typeof ResumeMessage>;

/** Answers the chat's open `input_request`. */
export const UserInputMessage = z.strictObject({
  type: z.literal('user_input'),
  /** The `request_id` of the `input_request` answered. */
  request_id: z.string().min(1).max(200),
  content: z.string().min(1).max(MAX_USER_CONTENT),
});
export type UserInputMessage = z.infer<typeof UserInputMessage>;

/** Answers the chat's open `ui_tool`: `response` is the tool's result. */
export const UiToolResponseMessage = z.strictObject({
  type: z.literal('ui_tool_response'),
  /** The `tool_call_id` of the `ui_tool` answered. */
  tool_call_id: z.string().min(1).max(200),
  /** What the user did in the component, as the component reports it. */
  response: z.record(z.string(), z.unknown()),
});
export type UiToolResponseMessage = z.infer<typeof UiToolResponseMessage>;

/** Replaces the socket's launch token before it expires, without reconnecting. */
export const RefreshMessage = z.strictObject({
  type: z.literal('refresh'),
  /** A new launch token for the same user, app, workflow and chat. */
  token: z.string().min(1).max(16_384),
});
export type RefreshMessage = z.infer<typeof RefreshMessage>;

/** Stops the chat's current run. */
export const CancelMessage = z.strictObject({
  type: z.literal('cancel'),
  /** The run to stop; when given and it is not the current run, nothing is stopped. */
  run_id: z.string().min(1).max(200).optional(),
});
export type CancelMessage = z.infer<typeof CancelMessage>;

export const ClientMessage = z.discriminatedUnion('type', [
  UserMessage,
  UserInputMessage,
  UiToolResponseMessage,
  ResumeMessage,
  RefreshMessage,
  CancelMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const CLIENT_MESSAGE_TYPES = ClientMessage.options.map((o) => o.shape.type.value);

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: 'invalid_message' | 'unknown_message_type'; message: string };

/** Parses one WebSocket text frame into a client message, or says precisely what is wrong with it. */
export function parseClientMessage(frame: string): ParsedClientMessage {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return { ok: false, code: 'invalid_message', message: 'frame is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: 'invalid_message', message: 'frame must be a JSON object' };
  }
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'invalid_message', message: 'frame has no string "type"' };
  }
  if (!(CLIENT_MESSAGE_TYPES as string[]).includes(type)) {
    return {
      ok: false,
      code: 'unknown_message_type',
      message: `unknown message type "${type.slice(0, 64)}"; expected one of: ${CLIENT_MESSAGE_TYPES.join(', ')}`,
    };
  }
  const parsed = ClientMessage.safeParse(data);
  if (!parsed.success) {
    return { ok: false, code: 'invalid_message', message: describeIssues(parsed.error) };
  }
  return { ok: true, message: parsed.data };
}

/** One line naming each invalid field: `content: Too small…; chat_id: …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(message)'}: ${issue.message}`)
    .join('; ');
}

/**
 * The body of `POST /chat/start` (the launch token is its bearer): the chat opens, and `content`,
 * when given, is a user message after the opening; `request_id` names it so that a retry is
 * accepted once. An empty body is `{}`.
 */
export const StartChatRequest = z
  .strictObject({
    content: z.string().min(1).optional(),
    request_id: z.string().min(1).max(200).optional(),
  })
  .refine((s) => s.request_id === undefined || s.content !== undefined, {
    message: 'names a message: give content too',
    path: ['request_id'],
  });
export type StartChatRequest = z.infer<typeof StartChatRequest>;

/** The answer to `POST /chat/start` (202): the input stored, or found stored before under its `request_id`. */
export const StartChatAccepted = z.object({
  chat_id: Id,
  workflow_id: Id,
  request_id: z.string(),
  /** False when the same `request_id` was accepted before: nothing new was stored. */
  created: z.boolean(),
});
export type StartChatAccepted = z.infer<typeof StartChatAccepted>;

/** Parses the body of `POST /chat/start`, or says precisely what is wrong with it. */
export function parseStartChat(body: string): { ok: true; request: StartChatRequest } | { ok: false; message: string } {
  let data: unknown = {};
  if (body.trim() !== '') {
    try {
      data = JSON.parse(body);
    } catch {
      return { ok: false, message: 'the body is not valid JSON' };
    }
  }
  const parsed = StartChatRequest.safeParse(data);
  return parsed.success ? { ok: true, request: parsed.data } : { ok: false, message: describeIssues(parsed.error) };
}
