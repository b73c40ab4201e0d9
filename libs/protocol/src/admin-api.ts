// The API over chats (`/v1/...` on the gateway's port): what its calls take and answer, as zod
// schemas, from which the HTTP handlers parse and the OpenAPI document is written.
import { z } from 'zod';
import { ServerEvent } from './events.js';
import { Id } from './ids.js';

/** Codes a refused call of the API answers with, beside `unauthorized` (401). */
export const AdminErrorCode = {
  /** 403: the token is valid but its scope lacks `chats:admin`. */
  InsufficientScope: 'insufficient_scope',
  /** 400: a parameter is missing or malformed (its name is in the message). */
  InvalidRequest: 'invalid_request',
  /** 404: no such chat in the token's app (a chat of another app is not found either). */
  NotFound: 'not_found',
  /** 405: the path is known, the method is not. */
  MethodNotAllowed: 'method_not_allowed',
  /** 503: the chat's run did not stop within the wait (its executor did not let it go); nothing was deleted. */
  ChatBusy: 'chat_busy',
  /** 400: a fork's `at_seq` does not end a run of the chat (nor is 0). */
  NotAForkPoint: 'not_a_fork_point',
  /** 409: a fork's new `chat_id` is a chat of that user already. */
  ChatExists: 'chat_exists',
} as const;

/** How a chat's last run stands. */
export const RunStatus = z.enum(['running', 'completed', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

/** A chat as a list shows it. */
export const ChatSummary = z.object({
  chat_id: Id,
  user_id: Id,
  workflow_id: Id,
  created_at: z.string().describe('ISO 8601'),
  last_activity_at: z
    .string()
    .describe('When the chat last took an input (a message, an answer, its opening); ISO 8601'),
  runs: z
    .number()
    .int()
    .min(0)
    .describe("Inputs run (each message, answer and the chat's opening is one), the one going included"),
  last_status: RunStatus.nullable().describe("The last run's status; null before the first run"),
  title: z
    .string()
    .nullable()
    .describe("The chat's first user message, cut to 80 characters; null before there is one"),
});
export type ChatSummary = z.infer<typeof ChatSummary>;

export const ChatListQuery = z.object({
  user_id: Id.optional(),
  workflow_id: Id.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** `next_cursor` of the previous page. */
  cursor: z.string().min(1).max(1024).optional(),
});

export const ChatList = z.object({
  chats: z.array(ChatSummary).describe('Newest activity first'),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
});

/** A chat's id is unique per user: every call on one chat names its user. */
export const ChatQuery = z.object({ user_id: Id });

export const ChatDetail = ChatSummary.extend({
  context_variables: z
    .record(z.string(), z.unknown())
    .describe('As the last run left them; empty before the first run'),
});

export const ChatEventsQuery = z.object({
  user_id: Id,
  after_seq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const ChatEvents = z.object({
  events: z.array(ServerEvent).describe("Each as a socket's replay sends it, oldest first"),
  next_after_seq: z
    .number()
    .int()
    .nullable()
    .describe('Pass as `after_seq` for the next page; null when this page holds the last events'),
});

/** `DELETE /v1/users/{user_id}`: with `usage=true` their billing records on the usage stream go too. */
export const EraseUserQuery = z.object({
  usage: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

/** What `DELETE /v1/chats/{chat_id}` removed (zeros for a chat the app does not have, or no longer has). */
export const DeletedChat = z.object({
  deleted: z.object({ chats: z.number().int().min(0), events: z.number().int().min(0) }),
});

/** What `DELETE /v1/users/{user_id}` removed, by kind. */
export const ErasedUser = z.object({
  deleted: z.object({
    chats: z.number().int().min(0),
    events: z.number().int().min(0),
    dead_letters: z.number().int().min(0).describe('Usage events webhook endpoints could not be sent'),
    usage_events: z.number().int().min(0).describe('Billing records on the usage stream (with usage=true; else 0)'),
  }),
});

/** `POST /v1/chats/{chat_id}/fork`: a new chat of the same user holding the history as it was at `at_seq`. */
export const ForkRequest = z.strictObject({
  /** Where the new chat starts from: the seq ending a run (its `workflow_complete`, or the usage after it), or 0. */
  at_seq: z.number().int().min(0),
  /** The new chat's id: no chat of the user may have it yet. */
  chat_id: Id,
  /** The user of both chats. */
  user_id: Id,
});

/** Every refused call: a code and a sentence saying why. */
export const ApiError = z.object({ error: z.string(), message: z.string() });
