// The protocol as an AsyncAPI 3 document: the WebSocket channel (what clients send, what the
// runtime sends) and the NATS subjects between the services, every payload's schema generated
// from the zod schemas here, so the document cannot drift from the code. `npm run asyncapi`
// writes it to asyncapi.yaml; a test checks that file is what this produces.
import { z } from 'zod';
import {
  ChatControl,
  ChatControlReply,
  ChatNudge,
  LiveEventEnvelope,
  ToolReply,
  ToolRequest,
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

/**
 * The document. `examples` (by message type) come from PROTOCOL.md's sections, each parsed by its
 * schema before it is put here.
 */
export function asyncApiDocument(examples: Record<string, unknown[]> = {}): Json {
  const messages: Json = {};
  const ref = (name: string) => ({ $ref: `#/components/messages/${name}` });
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
  add('toolRequest', ToolRequest, 'A tool (or hook, or lifecycle tool) to run in the tool-runner');
  add('toolReply', ToolReply, "The tool-runner's answer");
  add('usageRecord', UsageRecord, "A run's priced usage on its way to the usage-emitter (JetStream)");
  add('usageEvent', UsageUpdateEvent, "A run's priced usage for billing (JetStream, Nats-Msg-Id = event_id)");
  add('usageDeadLetter', UsageDeadLetter, 'A usage event a webhook endpoint gave up on');
  const channel = (address: string, description: string, names: string[], parameters: string[] = []) => ({
    address,
    description,
    messages: Object.fromEntries(names.map((n) => [n, ref(n)])),
    ...(parameters.length
      ? { parameters: Object.fromEntries(parameters.map((p) => [p, { description: `the ${p.replace(/_/g, ' ')}` }])) }
      : {}),
  });
  const nats = ['nats'];
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
    channels: {
      chat: {
        ...channel('/ws/chat', "One chat's socket: the token's chat. `last_seq` in the query resumes after it.", [
          ...clientNames,
          ...serverNames,
        ]),
        servers: [{ $ref: '#/servers/websocket' }],
      },
      run: {
        ...channel(
          'mozaiks.run.{app_id}.{workflow_id}',
          'Nudges: a chat has pending input (stream MOZAIKS_RUNS, work queue).',
          ['chatNudge'],
          ['app_id', 'workflow_id'],
        ),
        servers: nats.map((s) => ({ $ref: `#/servers/${s}` })),
      },
      chatEvents: {
        ...channel(
          'mozaiks.chat.{app_id}.{chat_id}',
          "A chat's live events, to every gateway with a socket of it.",
          ['liveEvent'],
          ['app_id', 'chat_id'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
      control: {
        ...channel(
          'mozaiks.control.{app_id}.{chat_id}',
          'Requests to the executor serving a chat.',
          ['chatControl', 'chatControlReply'],
          ['app_id', 'chat_id'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
      tool: {
        ...channel(
          'mozaiks.tool.{app_id}.{workflow_id}',
          'Tool calls to the tool-runners (request and reply).',
          ['toolRequest', 'toolReply'],
          ['app_id', 'workflow_id'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
      metering: {
        ...channel(
          'mozaiks.metering.{app_id}',
          'Priced usage from executors to the usage-emitter (stream MOZAIKS_METERING).',
          ['usageRecord'],
          ['app_id'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
      usage: {
        ...channel(
          'mozaiks.usage.{app_id}.{user_id}',
          'Priced usage for billing pipelines (stream MOZAIKS_USAGE, 30 days).',
          ['usageEvent'],
          ['app_id', 'user_id'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
      usageDeadLetters: {
        ...channel(
          'mozaiks.usage_dead.{sink_id}.{key}',
          'What a webhook endpoint could not be sent (stream MOZAIKS_USAGE_DEAD).',
          ['usageDeadLetter'],
          ['sink_id', 'key'],
        ),
        servers: [{ $ref: '#/servers/nats' }],
      },
    },
    operations: {
      sendClientMessage: {
        action: 'receive',
        channel: { $ref: '#/channels/chat' },
        summary: 'What a client sends on its socket.',
        messages: clientNames.map((n) => ({ $ref: `#/channels/chat/messages/${n}` })),
      },
      receiveServerEvent: {
        action: 'send',
        channel: { $ref: '#/channels/chat' },
        summary: 'What the runtime sends on a socket.',
        messages: serverNames.map((n) => ({ $ref: `#/channels/chat/messages/${n}` })),
      },
      nudgeRun: {
        action: 'send',
        channel: { $ref: '#/channels/run' },
        summary: 'Gateways nudge executors.',
        messages: [{ $ref: '#/channels/run/messages/chatNudge' }],
      },
      relayEvents: {
        action: 'send',
        channel: { $ref: '#/channels/chatEvents' },
        summary: "Executors publish a chat's events.",
        messages: [{ $ref: '#/channels/chatEvents/messages/liveEvent' }],
      },
      controlChat: {
        action: 'send',
        channel: { $ref: '#/channels/control' },
        summary: 'Gateways ask the serving executor.',
        messages: [{ $ref: '#/channels/control/messages/chatControl' }],
        reply: {
          channel: { $ref: '#/channels/control' },
          messages: [{ $ref: '#/channels/control/messages/chatControlReply' }],
        },
      },
      callTool: {
        action: 'send',
        channel: { $ref: '#/channels/tool' },
        summary: 'Executors call tools.',
        messages: [{ $ref: '#/channels/tool/messages/toolRequest' }],
        reply: { channel: { $ref: '#/channels/tool' }, messages: [{ $ref: '#/channels/tool/messages/toolReply' }] },
      },
      meterUsage: {
        action: 'send',
        channel: { $ref: '#/channels/metering' },
        summary: 'Executors hand priced usage to the usage-emitter.',
        messages: [{ $ref: '#/channels/metering/messages/usageRecord' }],
      },
      publishUsage: {
        action: 'send',
        channel: { $ref: '#/channels/usage' },
        summary: 'The usage-emitter publishes usage for billing; billing pipelines receive it.',
        messages: [{ $ref: '#/channels/usage/messages/usageEvent' }],
      },
      deadLetterUsage: {
        action: 'send',
        channel: { $ref: '#/channels/usageDeadLetters' },
        summary: 'Webhook sinks keep what they could not deliver.',
        messages: [{ $ref: '#/channels/usageDeadLetters/messages/usageDeadLetter' }],
      },
    },
    components: { messages },
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

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const code = (value: unknown) => `<pre><code>${escape(JSON.stringify(value, null, 2))}</code></pre>`;

/** The document as one readable HTML page: servers, channels, operations, each message with its schema and example. */
export function asyncApiHtml(doc: Json): string {
  const info = doc.info as { title: string; version: string; description: string };
  const servers = doc.servers as Record<string, { host: string; protocol: string; description: string }>;
  const channels = doc.channels as Record<
    string,
    { address: string; description: string; messages: Record<string, unknown> }
  >;
  const operations = doc.operations as Record<string, { action: string; channel: { $ref: string }; summary: string }>;
  const messages = (
    doc.components as {
      messages: Record<
        string,
        { title: string; summary: string; payload: unknown; examples?: Array<{ payload: unknown }> }
      >;
    }
  ).messages;
  const anchor = (name: string) => `message-${name}`;
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} ${escape(info.version)}: AsyncAPI</title>`,
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>',
    '</head><body><main>',
    `<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>`,
    `<p>${escape(info.description)}</p><p>Generated from <code>libs/protocol/asyncapi.yaml</code> (AsyncAPI ${escape(String(doc.asyncapi))}).</p>`,
    '<h2>Servers</h2><table><tr><th>name</th><th>protocol</th><th>host</th><th>what</th></tr>',
    ...Object.entries(servers).map(
      ([name, s]) =>
        `<tr><td>${escape(name)}</td><td>${escape(s.protocol)}</td><td><code>${escape(s.host)}</code></td><td>${escape(s.description)}</td></tr>`,
    ),
    '</table><h2>Channels</h2><table><tr><th>channel</th><th>address</th><th>what</th><th>messages</th></tr>',
    ...Object.entries(channels).map(
      ([name, c]) =>
        `<tr><td>${escape(name)}</td><td><code>${escape(c.address)}</code></td><td>${escape(c.description)}</td><td>${Object.keys(
          c.messages,
        )
          .map((m) => `<a href="#${anchor(m)}">${escape(messages[m]?.title ?? m)}</a>`)
          .join(', ')}</td></tr>`,
    ),
    '</table><h2>Operations</h2><table><tr><th>operation</th><th>action</th><th>channel</th><th>what</th></tr>',
    ...Object.entries(operations).map(
      ([name, o]) =>
        `<tr><td>${escape(name)}</td><td>${escape(o.action)}</td><td>${escape(o.channel.$ref.split('/').pop()!)}</td><td>${escape(o.summary)}</td></tr>`,
    ),
    '</table><h2>Messages</h2>',
    ...Object.entries(messages).map(([name, m]) =>
      [
        `<section id="${anchor(name)}"><h3><code>${escape(m.title)}</code></h3><p>${escape(m.summary)}</p>`,
        '<details><summary>Payload schema</summary>',
        code(m.payload),
        '</details>',
        ...(m.examples?.length ? ['<p>Example</p>', code(m.examples[0]!.payload)] : []),
        '</section>',
      ].join('\n'),
    ),
    '</main></body></html>',
    '',
  ].join('\n');
}
