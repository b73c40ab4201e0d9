// `POST /chat/start` with the launch token as a bearer: without a body, the chat's opening (a
// BackendOnly or AgentDriven workflow's first run starts; nothing runs for a UserDriven one); with
// `{content}`, that message, as a socket's `user_message`. Nothing waits for the run: its events
// are stored as always, and a socket opened later reads them with `resume`. 202 with the input's
// `request_id`; the same `request_id` sent again is accepted once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '@mozaiks/common';
import { ErrorCode, parseStartChat } from '@mozaiks/protocol';
import type { StartChatAccepted } from '@mozaiks/protocol';
import { SpanKind, sendJson, startSpan } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { spanAttributes } from './client-commands.js';
import { bearer } from './handshake.js';
import type { TokenCheck } from './handshake.js';
import type { DoorLimits } from './door-limits.js';
import { newInput, openingInput } from './input-intake.js';
import type { InputIntake } from './input-intake.js';

/** Starts a chat's run without a socket. */
export const START_PATH = '/chat/start';

export interface HttpStartOptions {
  tokens: TokenCheck;
  intake: InputIntake;
  door: DoorLimits;
  logger: Logger;
  maxMessageBytes: number;
  accepting: () => boolean;
}

export async function startChatOverHttp(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpStartOptions,
): Promise<void> {
  if (!options.accepting()) return sendJson(res, 503, { error: 'unavailable', message: 'server is shutting down' });
  const token = bearer(req.headers.authorization);
  if (!token) {
    const message = 'missing launch token: send Authorization: Bearer <jwt>';
    return sendJson(res, 401, { error: ErrorCode.Unauthorized, message });
  }
  const launch = await options.tokens.verify(token, req.socket.remoteAddress);
  if (typeof launch === 'string') return sendJson(res, 401, { error: ErrorCode.Unauthorized, message: launch });
  // Refused before the body is read: nothing of it is stored or run.
  const allowed = options.door.message(launch);
  if (!allowed.ok) {
    const seconds = Math.ceil(allowed.retryAfterMs / 1000);
    const body = {
      error: ErrorCode.RateLimited,
      message: `too many messages: send it again in ${seconds} s`,
      retry_after_ms: allowed.retryAfterMs,
    };
    return sendJson(res, 429, body, { 'retry-after': String(seconds) });
  }
  const body = await readBody(req, options.maxMessageBytes);
  if (body === undefined) {
    const message = `the body is larger than ${options.maxMessageBytes} bytes`;
    return sendJson(res, 413, { error: ErrorCode.InvalidMessage, message });
  }
  const parsed = parseStartChat(body);
  if (!parsed.ok) return sendJson(res, 400, { error: ErrorCode.InvalidMessage, message: parsed.message });
  const start = parsed.request;
  const log = options.logger.child({
    app_id: launch.app_id,
    user_id: launch.user_id,
    workflow_id: launch.workflow_id,
    chat_id: launch.chat_id,
  });
  const span = startSpan('chat start', { kind: SpanKind.SERVER, attributes: spanAttributes({ launch }) });
  try {
    // The content is the chat's next message; without it, the chat opens (once, however many sockets and starts).
    const input =
      start.content === undefined
        ? openingInput(launch, span.traceparent)
        : {
            ...newInput(launch, start.content, span.traceparent),
            ...(start.request_id ? { request_id: start.request_id } : {}),
          };
    const admitted = await options.intake.admit(launch, input, log);
    log.info({ request_id: admitted.input.request_id, created: admitted.created }, 'chat started over HTTP');
    const accepted: StartChatAccepted = {
      chat_id: launch.chat_id,
      workflow_id: launch.workflow_id,
      request_id: admitted.input.request_id,
      created: admitted.created,
    };
    sendJson(res, 202, accepted);
    span.end({ 'mozaiks.input.outcome': admitted.created ? 'accepted' : 'repeated' });
  } catch (error) {
    log.error({ error: errorMessage(error) }, "could not store the chat's start");
    sendJson(res, 500, { error: ErrorCode.Internal, message: 'the start could not be stored; send it again' });
    span.end({ 'mozaiks.input.outcome': 'failed' });
  }
}

/** The request's body as text, or undefined when it is longer than `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
