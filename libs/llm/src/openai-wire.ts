// The OpenAI chat-completions wire format, served: an HTTP server that answers
// `POST /v1/chat/completions` as JSON or as SSE chunks, from a function that decides the reply.
// Used by the standalone demo endpoint and by the test harness.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WireToolCall {
  id?: string;
  name: string;
  arguments: string;
}

/** What the endpoint answers to one request. */
export interface CompletionReply {
  content?: string | null;
  tool_calls?: WireToolCall[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number };
  /** Model name reported back; the requested one by default. */
  model?: string;
  /** Answer with this HTTP status and error body instead. */
  error?: { status: number; message: string; type?: string };
  /** Wait this long before answering. */
  delay_ms?: number;
  /**
   * Cut a streamed reply after its text, before it says why it finished: `end` closes the response
   * as if it were complete, `reset` drops the connection. A reply that is not streamed drops the
   * connection either way.
   */
  cut?: 'end' | 'reset';
  /** Wait this long between the streamed pieces of text. */
  piece_delay_ms?: number;
}

/** The subset of the request body the handler usually looks at. */
export interface CompletionRequestBody {
  model: string;
  messages: Array<Record<string, unknown> & { role: string; content?: unknown }>;
  tools?: Array<{
    type: 'function';
    function: { name: string; description?: string; parameters?: Record<string, unknown> };
  }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  [key: string]: unknown;
}

export type CompletionHandler = (
  body: CompletionRequestBody,
  headers: IncomingMessage['headers'],
) => CompletionReply | Promise<CompletionReply>;

export interface ChatCompletionsServer {
  /** Base URL for an OpenAI client, ending in `/v1`. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts an OpenAI-compatible endpoint on `host:port` (port 0 picks a free one). */
export async function startChatCompletionsServer(
  handler: CompletionHandler,
  options: { host?: string; port?: number } = {},
): Promise<ChatCompletionsServer> {
  const server = createServer((req, res) => {
    void serve(handler, req, res).catch((error: unknown) => {
      if (!res.headersSent) writeError(res, 500, error instanceof Error ? error.message : 'internal error');
      else res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: thousands of runs may open their connection to the endpoint at once.
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', 4096, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}/v1`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One reply as the wire carries it, whole or streamed. */
interface WireReply {
  id: string;
  model: string;
  created: number;
  content: string | null;
  toolCalls: Array<{ index: number; id: string; type: 'function'; function: { name: string; arguments: string } }>;
  finish_reason: 'tool_calls' | 'stop';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
}

async function serve(handler: CompletionHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && (route === '/v1/models' || route === '/models')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [] }));
    return;
  }
  if (req.method !== 'POST' || (route !== '/v1/chat/completions' && route !== '/chat/completions')) {
    writeError(res, 404, `no route ${req.method} ${route}`);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: CompletionRequestBody;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CompletionRequestBody;
  } catch {
    writeError(res, 400, 'body is not JSON');
    return;
  }
  const reply = await handler(body, req.headers);
  if (reply.delay_ms) await new Promise((r) => setTimeout(r, reply.delay_ms));
  if (reply.error) {
    writeError(res, reply.error.status, reply.error.message, reply.error.type);
    return;
  }
  const wire = wireReply(reply, body);
  if (body.stream) return stream(res, reply, wire, body.stream_options?.include_usage === true);
  // A whole reply cannot be cut in half: the connection drops instead.
  if (reply.cut) return void res.socket?.destroy();
  const message = {
    role: 'assistant',
    content: wire.content,
    ...(wire.toolCalls.length ? { tool_calls: wire.toolCalls.map(({ index: _index, ...c }) => c) } : {}),
  };
  const { id, created, model, finish_reason, usage } = wire;
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message, finish_reason, logprobs: null }],
      ...(usage ? { usage } : {}),
    }),
  );
}

/** The reply's parts as the wire names them. */
function wireReply(reply: CompletionReply, body: CompletionRequestBody): WireReply {
  const usage = reply.usage
    ? {
        ...reply.usage,
        total_tokens: reply.usage.total_tokens ?? reply.usage.prompt_tokens + reply.usage.completion_tokens,
      }
    : undefined;
  const toolCalls = (reply.tool_calls ?? []).map((c, index) => ({
    index,
    id: c.id ?? `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
  return {
    id: `chatcmpl-${randomUUID()}`,
    model: reply.model ?? body.model,
    created: Math.floor(Date.now() / 1000),
    content: reply.content ?? null,
    toolCalls,
    finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
    usage,
  };
}

/** The reply as SSE chunks: its text a few words at a time, then each tool call, why it finished, its usage. */
async function stream(
  res: ServerResponse,
  reply: CompletionReply,
  wire: WireReply,
  includeUsage: boolean,
): Promise<void> {
  const { id, created, model } = wire;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`,
    );
  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  // Text goes out a few words at a time, as a model streams it.
  for (const piece of (reply.content ?? '').match(/\S+\s*/g) ?? []) {
    if (res.destroyed) return;
    send([{ index: 0, delta: { content: piece }, finish_reason: null }]);
    if (reply.piece_delay_ms) await new Promise((r) => setTimeout(r, reply.piece_delay_ms));
  }
  if (reply.cut === 'end') return void res.end();
  if (reply.cut === 'reset') return void res.socket?.destroy();
  for (const call of wire.toolCalls) {
    const { index } = call;
    const opening = { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } };
    send([{ index: 0, delta: { tool_calls: [opening] }, finish_reason: null }]);
    const rest = { index, function: { arguments: call.function.arguments } };
    send([{ index: 0, delta: { tool_calls: [rest] }, finish_reason: null }]);
  }
  send([{ index: 0, delta: {}, finish_reason: wire.finish_reason }]);
  if (wire.usage && includeUsage) send([], { usage: wire.usage });
  res.end('data: [DONE]\n\n');
}

function writeError(res: ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: { message, type, code: null, param: null } }));
}
