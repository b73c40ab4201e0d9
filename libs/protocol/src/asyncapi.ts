// The protocol as an AsyncAPI 3 document: the WebSocket channel (what clients send, what the
// runtime sends) and the NATS subjects between the services, every payload's schema generated
// from the zod schemas here, so the document cannot drift from the code. `npm run asyncapi`
// writes it to asyncapi.yaml; a test checks that file is what this produces.
import { z } from 'zod';
import {
  ChatControl,
  ChatControlReply,
  ChatDeleted,
  ChatNudge,
  LiveEventEnvelope,
  ToolReply,
  ToolRequest,
  WorkflowVersionReply,
  WorkflowVersionRequest,
  UsageDeadLetter,
  UsageRecord,
} from './bus-messages.js';
import { ClientMessage, StartChatRequest } from './client-messages.js';
import { ServerEvent, UsageUpdateEvent } from './events.js';

type Json = Record<string, unknown>;

/** A payload schema as AsyncAPI's (JSON Schema draft-07) reads it. */
function schemaOf(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any', io: 'input' }) as Json;
  delete json.$schema;
  return json;
}

/** The message types of a discriminated union, each with its own schema. */
function variants(union: { options: readonly z.ZodObject[] }): Array<{ type: string; schema: z.ZodObject }> {
  return union.options.map((schema) => ({ type: (schema.shape.type as z.ZodLiteral<string>).value, schema }));
}

const camel = (type: string) => type.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The NATS channels: name, address, what it carries, its messages and its address's parameters. */
const NATS_CHANNELS: Array<
  [name: string, address: string, description: string, messages: string[], parameters: string[]]
> = [
  [
    'run',
    'mozaiks.run.{app_id}.{workflow_id}',
    'Nudges: a chat has pending input (stream MOZAIKS_RUNS, work queue).',
    ['chatNudge'],
    ['app_id', 'workflow_id'],
  ],
  [
    'chatEvents',
    'mozaiks.chat.{app_id}.{chat_id}',
    "A chat's live events, to every gateway with a socket of it.",
    ['liveEvent'],
    ['app_id', 'chat_id'],
  ],
  [
    'control',
    'mozaiks.control.{app_id}.{chat_id}',
    'Requests to the executor serving a chat.',
    ['chatControl', 'chatControlReply'],
    ['app_id', 'chat_id'],
  ],
  [
    'chatDeleted',
    'mozaiks.chat_deleted.{app_id}.{chat_id}',
    'A chat was deleted: every gateway closes its sockets (4410), every executor forgets it.',
    ['chatDeleted'],
    ['app_id', 'chat_id'],
  ],
  [
    'tool',
    'mozaiks.tool.{app_id}.{workflow_id}',
    'Tool calls to the tool-runners (request and reply).',
    ['toolRequest', 'toolReply'],
    ['app_id', 'workflow_id'],
  ],
  [
    'workflowVersion',
    'mozaiks.workflow_version',
    "Tool-runners ask the executors (which read the store) for a stored workflow version's files.",
    ['workflowVersionRequest', 'workflowVersionReply'],
    [],
  ],
  [
    'metering',
    'mozaiks.metering.{app_id}',
    'Priced usage from executors to the usage-emitter (stream MOZAIKS_METERING).',
    ['usageRecord'],
    ['app_id'],
  ],
  [
    'usage',
    'mozaiks.usage.{app_id}.{user_id}',
    'Priced usage for billing pipelines (stream MOZAIKS_USAGE, 30 days).',
    ['usageEvent'],
    ['app_id', 'user_id'],
  ],
  [
    'usageDeadLetters',
    'mozaiks.usage_dead.{sink_id}.{key}',
    'What a webhook endpoint could not be sent (stream MOZAIKS_USAGE_DEAD).',
    ['usageDeadLetter'],
    ['sink_id', 'key'],
  ],
];

/** The operations between the services: name, channel, what happens, its message, and the reply's. */
const NATS_OPERATIONS: Array<[name: string, channel: string, summary: string, message: string, reply?: string]> = [
  ['nudgeRun', 'run', 'Gateways nudge executors.', 'chatNudge'],
  ['relayEvents', 'chatEvents', "Executors publish a chat's events.", 'liveEvent'],
  ['controlChat', 'control', 'Gateways ask the serving executor.', 'chatControl', 'chatControlReply'],
  ['announceDeletion', 'chatDeleted', 'The API over chats (or retention) announces a deleted chat.', 'chatDeleted'],
  ['callTool', 'tool', 'Executors call tools.', 'toolRequest', 'toolReply'],
  [
    'fetchWorkflowVersion',
    'workflowVersion',
    'Tool-runners fetch the version a tool request names.',
    'workflowVersionRequest',
    'workflowVersionReply',
  ],
  ['meterUsage', 'metering', 'Executors hand priced usage to the usage-emitter.', 'usageRecord'],
  [
    'publishUsage',
    'usage',
    'The usage-emitter publishes usage for billing; billing pipelines receive it.',
    'usageEvent',
  ],
  ['deadLetterUsage', 'usageDeadLetters', 'Webhook sinks keep what they could not deliver.', 'usageDeadLetter'],
];

const ref = (name: string) => ({ $ref: `#/components/messages/${name}` });

/**
 * The document. `examples` (by message type) come from PROTOCOL.md's sections, each parsed by its
 * schema before it is put here.
 */
export function asyncApiDocument(examples: Record<string, unknown[]> = {}): Json {
  const { messages, clientNames, serverNames } = componentMessages(examples);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'MozaiksAI Runtime',
      version: '1.0.0',
      description:
        "The WebSocket protocol clients speak (PROTOCOL.md) and the NATS subjects between the runtime's services. Subjects start with SUBJECT_PREFIX (`mozaiks`).",
    },
    defaultContentType: 'application/json',
    servers: {
      websocket: {
        host: 'localhost:8000',
        protocol: 'ws',
        description: 'A gateway (or the embedded runtime); the launch token in ?token= or Authorization: Bearer.',
      },
      nats: {
        host: 'localhost:4222',
        protocol: 'nats',
        description: 'NATS with JetStream, between the distributed services.',
      },
    },
    channels: channels(clientNames, serverNames),
    operations: operations(clientNames, serverNames),
    components: { messages },
  };
}

/** Every message, with its schema and (for a protocol message) its example; the socket's by direction. */
function componentMessages(examples: Record<string, unknown[]>): {
  messages: Json;
  clientNames: string[];
  serverNames: string[];
} {
  const messages: Json = {};
  const add = (name: string, schema: z.ZodType, summary: string, type?: string) => {
    const own = (type ? examples[type] : undefined) ?? [];
    messages[name] = {
      name,
      title: type ?? name,
      summary,
      contentType: 'application/json',
      payload: schemaOf(schema),
      ...(own.length ? { examples: own.map((payload) => ({ payload })) } : {}),
    };
    return name;
  };
  const clientNames = variants(ClientMessage).map(({ type, schema }) =>
    add(`client_${camel(type)}`, schema, `Client message \`${type}\``, type),
  );
  const serverNames = variants(ServerEvent).map(({ type, schema }) =>
    add(`event_${camel(type)}`, schema, `Server event \`${type}\``, type),
  );
  add('startChat', StartChatRequest, 'Body of POST /chat/start');
  add('chatNudge', ChatNudge, 'A chat has work in its inbox (JetStream, de-duplicated per input)');
  add('liveEvent', LiveEventEnvelope, 'A chat event on its way from an executor to the gateways');
  add('chatControl', ChatControl, 'A request to the executor serving a chat (cancel)');
  add('chatControlReply', ChatControlReply, "The executor's answer to a chat control");
  add('chatDeleted', ChatDeleted, 'A chat that was deleted (its ids only)');
  add('toolRequest', ToolRequest, 'A tool (or hook, or lifecycle tool) to run in the tool-runner');
  add('toolReply', ToolReply, "The tool-runner's answer");
  add('workflowVersionRequest', WorkflowVersionRequest, "A request for a stored workflow version's files");
  add('workflowVersionReply', WorkflowVersionReply, 'The files (path → text), or found: false');
  add('usageRecord', UsageRecord, "A run's priced usage on its way to the usage-emitter (JetStream)");
  add('usageEvent', UsageUpdateEvent, "A run's priced usage for billing (JetStream, Nats-Msg-Id = event_id)");
  add('usageDeadLetter', UsageDeadLetter, 'A usage event a webhook endpoint gave up on');
  return { messages, clientNames, serverNames };
}

function channel(address: string, description: string, names: string[], parameters: string[] = []): Json {
  return {
    address,
    description,
    messages: Object.fromEntries(names.map((n) => [n, ref(n)])),
    ...(parameters.length
      ? { parameters: Object.fromEntries(parameters.map((p) => [p, { description: `the ${p.replace(/_/g, ' ')}` }])) }
      : {}),
  };
}

/** The socket's channel, then the NATS subjects'. */
function channels(clientNames: string[], serverNames: string[]): Json {
  const socket = "One chat's socket: the token's chat. `last_seq` in the query resumes after it.";
  return {
    chat: {
      ...channel('/ws/chat', socket, [...clientNames, ...serverNames]),
      servers: [{ $ref: '#/servers/websocket' }],
    },
    ...Object.fromEntries(
      NATS_CHANNELS.map(([name, address, description, names, parameters]) => [
        name,
        { ...channel(address, description, names, parameters), servers: [{ $ref: '#/servers/nats' }] },
      ]),
    ),
  };
}

/** What each side sends: the socket's two directions, then the services' operations. */
function operations(clientNames: string[], serverNames: string[]): Json {
  const on = (channel: string, name: string) => ({ $ref: `#/channels/${channel}/messages/${name}` });
  return {
    sendClientMessage: {
      action: 'receive',
      channel: { $ref: '#/channels/chat' },
      summary: 'What a client sends on its socket.',
      messages: clientNames.map((n) => on('chat', n)),
    },
    receiveServerEvent: {
      action: 'send',
      channel: { $ref: '#/channels/chat' },
      summary: 'What the runtime sends on a socket.',
      messages: serverNames.map((n) => on('chat', n)),
    },
    ...Object.fromEntries(
      NATS_OPERATIONS.map(([name, channel, summary, message, reply]) => [
        name,
        {
          action: 'send',
          channel: { $ref: `#/channels/${channel}` },
          summary,
          messages: [on(channel, message)],
          ...(reply ? { reply: { channel: { $ref: `#/channels/${channel}` }, messages: [on(channel, reply)] } } : {}),
        },
      ]),
    ),
  };
}

/** The JSON example of each `### \`type\`` section of PROTOCOL.md, by type. */
export function protocolExamples(markdown: string): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const match of markdown.matchAll(/^### `([a-z_]+)`$/gm)) {
    // The section runs to the next heading.
    const rest = markdown.slice(match.index + match[0].length);
    const end = rest.search(/\n##+ /);
    const example = /```json\n([\s\S]*?)\n```/.exec(end < 0 ? rest : rest.slice(0, end));
    if (example) out[match[1]!] = [JSON.parse(example[1]!) as unknown];
  }
  return out;
}
