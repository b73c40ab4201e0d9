// The OpenAPI 3.1 document of the runtime's HTTP endpoints (`npm run openapi` writes
// libs/protocol/openapi.yaml), from the same zod schemas the handlers parse and answer with:
// `POST /chat/start`, the control plane's API over chats under `/v1`, and `/health`, `/ready`.
import { z } from 'zod';
import {
  ApiError,
  ChatDetail,
  ChatEvents,
  ChatEventsQuery,
  ChatList,
  ChatListQuery,
  ChatQuery,
  ChatSummary,
  DeletedChat,
  EraseUserQuery,
  ErasedUser,
  ForkRequest,
} from './admin-api.js';
import { StartChatAccepted, StartChatRequest } from './client-messages.js';
import { ServerEvent } from './events.js';
import { Id } from './ids.js';

type Json = Record<string, unknown>;

/** A schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect): what a request may send, or what an answer holds. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Json;
  delete json.$schema;
  return json;
}

/** A zod object's fields as query parameters. */
function queryOf(schema: z.ZodObject): Json[] {
  const json = schemaOf(schema, 'input') as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const pathId = (name: string) => ({ name, in: 'path', required: true, schema: schemaOf(Id) });
const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const answer = (description: string, schema: string) => ({ description, content: json(schema) });

/** The refusals every call of the API over chats may answer with. */
const REFUSALS = {
  '400': answer('`invalid_request`: a parameter is missing or malformed (named in `message`)', 'ApiError'),
  '401': answer(
    '`unauthorized`: no token, or one that cannot be trusted (signature, expiry, issuer, audience)',
    'ApiError',
  ),
  '403': answer('`insufficient_scope`: a valid token whose scope lacks `chats:admin`', 'ApiError'),
};
const NOT_FOUND = {
  '404': answer("`not_found`: the token's app has no such chat (another app's chat included)", 'ApiError'),
};
const ADMIN = { security: [{ controlPlane: [] }], tags: ['Control-plane API'] };

/** What clients call with their launch token. */
function clientPaths(): Json {
  return {
    '/chat/start': {
      post: {
        summary: "Starts a chat's run without a socket: its opening, or `content` as its next message",
        security: [{ launchToken: [] }],
        tags: ['Clients'],
        requestBody: { required: false, content: json('StartChatRequest') },
        responses: {
          '202': answer('Stored; its events are read later over the socket (`resume`)', 'StartChatAccepted'),
          '400': answer('`invalid_message`: the body is not a start', 'ApiError'),
          '401': answer('`unauthorized`: the launch token was refused', 'ApiError'),
          '413': answer('`invalid_message`: the body is larger than MAX_MESSAGE_BYTES', 'ApiError'),
          '429': answer(
            '`rate_limited`: over USER_MESSAGES_PER_MINUTE; `Retry-After` says when to send again',
            'ApiError',
          ),
        },
      },
    },
  };
}

/** The API over one app's chats. */
function chatPaths(): Json {
  const chatId = pathId('chat_id');
  return {
    '/v1/chats': {
      get: {
        ...ADMIN,
        summary: "The app's chats (of one user, of one workflow), newest activity first, a page at a time",
        parameters: queryOf(ChatListQuery),
        responses: { '200': answer('A page of chats', 'ChatList'), ...REFUSALS },
      },
    },
    '/v1/chats/{chat_id}': {
      get: {
        ...ADMIN,
        summary: "A chat's summary and context variables",
        parameters: [chatId, ...queryOf(ChatQuery)],
        responses: { '200': answer('The chat', 'ChatDetail'), ...REFUSALS, ...NOT_FOUND },
      },
      delete: {
        ...ADMIN,
        summary:
          'Deletes the chat everywhere: its run going is cancelled, its sockets closed with 4410, every trace of it leaves the store',
        parameters: [chatId, ...queryOf(ChatQuery)],
        responses: {
          '200': answer(
            'What was removed; zeros when there was nothing (a repeat, or a chat the app does not have)',
            'DeletedChat',
          ),
          ...REFUSALS,
          '503': answer(
            "`chat_busy`: the chat's run did not stop in time; nothing was removed, send it again",
            'ApiError',
          ),
        },
      },
    },
    '/v1/chats/{chat_id}/events': {
      get: {
        ...ADMIN,
        summary: "A page of the chat's persisted events, each as a socket's replay sends it",
        parameters: [chatId, ...queryOf(ChatEventsQuery)],
        responses: { '200': answer('Events after `after_seq`, oldest first', 'ChatEvents'), ...REFUSALS, ...NOT_FOUND },
      },
    },
    '/v1/chats/{chat_id}/fork': {
      post: {
        ...ADMIN,
        summary:
          "A new chat of the same user, workflow and workflow version holding this chat's history, context variables and events as they were at `at_seq` (edit and resend, try again)",
        parameters: [chatId],
        requestBody: { required: true, content: json('ForkRequest') },
        responses: {
          '201': answer('The new chat', 'ChatDetail'),
          '400': answer(
            '`not_a_fork_point`: `at_seq` does not end a run of the chat (nor is 0); `invalid_request`: a malformed body',
            'ApiError',
          ),
          '401': REFUSALS['401'],
          '403': REFUSALS['403'],
          ...NOT_FOUND,
          '409': answer('`chat_exists`: the user has a chat with the new `chat_id` already', 'ApiError'),
        },
      },
    },
  };
}

/** The API over one user's data in an app. */
function userPaths(): Json {
  return {
    '/v1/users/{user_id}': {
      delete: {
        ...ADMIN,
        summary:
          'Erases the user in the app: every chat of theirs (as DELETE /v1/chats/{chat_id}), their usage dead letters, and with usage=true their billing records on the usage stream',
        parameters: [pathId('user_id'), ...queryOf(EraseUserQuery)],
        responses: { '200': answer('What was removed, by kind', 'ErasedUser'), ...REFUSALS },
      },
    },
    '/v1/users/{user_id}/export': {
      get: {
        ...ADMIN,
        summary:
          'Everything the app keeps of the user: for each chat a line {"chat": …} (summary, context variables, history), then a line {"event": …} per event',
        parameters: [pathId('user_id')],
        responses: {
          '200': {
            description: 'Newline-delimited JSON',
            content: { 'application/x-ndjson': { schema: { $ref: '#/components/schemas/ExportLine' } } },
          },
          ...REFUSALS,
        },
      },
    },
  };
}

/** The probes. */
function opsPaths(): Json {
  return {
    '/health': {
      get: {
        summary: 'Liveness: the process answers',
        tags: ['Operations'],
        responses: { '200': answer('Alive', 'Health') },
      },
    },
    '/ready': {
      get: {
        summary: 'Readiness: the process can take work (its store and bus answer)',
        tags: ['Operations'],
        responses: { '200': answer('Ready', 'Readiness'), '503': answer('Not ready', 'Readiness') },
      },
    },
  };
}

function paths(): Json {
  return { ...clientPaths(), ...chatPaths(), ...userPaths(), ...opsPaths() };
}

/** One line of an export. */
const ExportLine = z.union([
  z.object({ chat: ChatDetail.extend({ messages: z.array(z.record(z.string(), z.unknown())) }) }),
  z.object({ event: ServerEvent }),
]);

/** The document. */
export function openApiDocument(): Json {
  const schemas: Record<string, z.ZodType> = {
    StartChatRequest,
    StartChatAccepted,
    ForkRequest,
    ChatSummary,
    ChatList,
    ChatDetail,
    ChatEvents,
    DeletedChat,
    ErasedUser,
    ExportLine,
    ApiError,
    Health: z.object({ status: z.literal('ok') }),
    Readiness: z.object({ status: z.enum(['ready', 'not_ready']) }),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'MozaiksAI Runtime HTTP API',
      version: '1.0.0',
      description:
        "The runtime's HTTP endpoints on the gateway's port (and `npm start`'s): clients start chats with their launch token; the control plane reads, exports and deletes chats with its own token (scope `chats:admin`, one app). The chat itself is a WebSocket: see asyncapi.yaml.",
    },
    tags: [
      { name: 'Clients', description: 'Called with a launch token (scope `workflow:execute`)' },
      {
        name: 'Control-plane API',
        description:
          'Called with a token of scope `chats:admin` naming an `app_id`; every call is confined to that app. Errors are `{error, message}`.',
      },
      { name: 'Operations', description: 'Probes' },
    ],
    paths: paths(),
    components: {
      schemas: Object.fromEntries(
        Object.entries(schemas).map(([name, schema]) => [
          name,
          schemaOf(schema, ['StartChatRequest', 'ForkRequest'].includes(name) ? 'input' : 'output'),
        ]),
      ),
      securitySchemes: {
        launchToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A launch token (scope `workflow:execute`)',
        },
        controlPlane: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Signed as launch tokens are; claims `app_id` and a `scope` including `chats:admin`',
        },
      },
    },
  };
}
