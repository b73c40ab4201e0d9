// The API over chats on HTTP (`/v1/...`, on the gateway's port): the bearer token checked as a
// control-plane token, the path and query parsed with the protocol's schemas, the call made, and
// the answer (or the refusal, `{error, message}`) sent as JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AdminErrorCode,
  ChatEventsQuery,
  ChatListQuery,
  ChatQuery,
  EraseUserQuery,
  ForkRequest,
  ErrorCode,
  Id,
  describeIssues,
} from '@mozaiks/protocol';
import type { AdminCaller } from '@mozaiks/protocol';
import { sendJson } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import type { z } from 'zod';
import { AdminError } from './admin-error.js';
import type { ChatAdmin } from './chat-admin.js';

/** Every path of the API starts with this. */
export const API_PREFIX = '/v1/';

/** Checks a control-plane token (`LaunchTokenVerifier.verifyAdmin`). */
export interface AdminTokenCheck {
  verifyAdmin(token: string): Promise<AdminCaller>;
}

export interface AdminHttpOptions {
  admin: ChatAdmin;
  tokens: AdminTokenCheck;
  logger: Logger;
}

type Call = (caller: AdminCaller, query: Record<string, string>, body: () => Promise<unknown>) => Promise<unknown>;

/** Largest request body read (a fork's). */
const MAX_BODY_BYTES = 64 * 1024;

/** The handler of every request whose path starts with `/v1/`. */
export function adminHttp(options: AdminHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) =>
    void answer(req, res, options).catch((error: unknown) => {
      options.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'API call failed');
      if (!res.headersSent)
        sendJson(res, 500, { error: ErrorCode.Internal, message: 'the call failed inside the runtime; try again' });
      // Cut short mid-stream: the client sees the answer end early, never a whole one.
      else res.destroy();
    });
}

async function answer(req: IncomingMessage, res: ServerResponse, options: AdminHttpOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = routeOf(url.pathname, options.admin);
  if (!route) return sendJson(res, 404, { error: AdminErrorCode.NotFound, message: `no route ${url.pathname}` });
  const call = route[req.method ?? 'GET'];
  if (!call) {
    const allowed = Object.keys(route).join(', ');
    return sendJson(
      res,
      405,
      { error: AdminErrorCode.MethodNotAllowed, message: `${url.pathname} answers ${allowed}` },
      { allow: allowed },
    );
  }
  const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!token) {
    const message = 'missing token: send Authorization: Bearer <jwt> with scope chats:admin';
    return sendJson(res, 401, { error: ErrorCode.Unauthorized, message });
  }
  let caller: AdminCaller;
  try {
    caller = await options.tokens.verifyAdmin(token);
  } catch (error) {
    const scope = (error as { code?: string }).code === AdminErrorCode.InsufficientScope;
    const message = error instanceof Error ? error.message : String(error);
    return sendJson(res, scope ? 403 : 401, {
      error: scope ? AdminErrorCode.InsufficientScope : ErrorCode.Unauthorized,
      message,
    });
  }
  try {
    const answer = await call(caller, Object.fromEntries(url.searchParams), () => readJson(req));
    if (answer instanceof Ndjson) await streamLines(res, answer.lines);
    else if (answer instanceof Created) sendJson(res, 201, answer.body);
    else sendJson(res, 200, answer);
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    sendJson(res, error.status, { error: error.code, message: error.message });
  }
}

/** An answer that made something: 201. */
class Created {
  constructor(readonly body: unknown) {}
}

/** The request's JSON body. @throws AdminError 400 when it is too large or not JSON */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new AdminError(400, AdminErrorCode.InvalidRequest, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminError(400, AdminErrorCode.InvalidRequest, 'the body is not valid JSON');
  }
}

/** An answer sent as `application/x-ndjson`, a line at a time. */
class Ndjson {
  constructor(readonly lines: AsyncIterable<string>) {}
}

/** Writes the lines as they come, waiting whenever the client reads slower than they are made. */
async function streamLines(res: ServerResponse, lines: AsyncIterable<string>): Promise<void> {
  let started = false;
  for await (const line of lines) {
    if (!started) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      started = true;
    }
    if (res.destroyed) return;
    if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve));
  }
  if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.end();
}

/** The calls a path answers, by method; undefined for a path the API does not have. */
function routeOf(pathname: string, admin: ChatAdmin): Record<string, Call> | undefined {
  const parts = pathname.split('/').slice(2).map(decoded);
  if (parts[0] === 'users' && parts.length === 2) {
    const userId = parts[1]!;
    return {
      DELETE: (caller, q) => admin.eraseUser(caller, checkId(userId, 'user_id'), parse(EraseUserQuery, q).usage),
    };
  }
  if (parts[0] === 'users' && parts.length === 3 && parts[2] === 'export') {
    const userId = parts[1]!;
    return { GET: async (caller) => new Ndjson(admin.exportUser(caller, checkId(userId, 'user_id'))) };
  }
  if (parts[0] !== 'chats') return undefined;
  if (parts.length === 1) return { GET: (caller, q) => admin.listChats(caller, parse(ChatListQuery, q)) };
  const chatId = parts[1]!;
  if (parts.length === 2)
    return {
      GET: (caller, q) => admin.getChat(caller, checkId(chatId), parse(ChatQuery, q).user_id),
      DELETE: (caller, q) => admin.deleteChat(caller, checkId(chatId), parse(ChatQuery, q).user_id),
    };
  if (parts.length === 3 && parts[2] === 'fork')
    return {
      POST: async (caller, _q, body) =>
        new Created(await admin.forkChat(caller, checkId(chatId), parse(ForkRequest, await body()))),
    };
  if (parts.length === 3 && parts[2] === 'events')
    return { GET: (caller, q) => admin.chatEvents(caller, checkId(chatId), parse(ChatEventsQuery, q)) };
  return undefined;
}

/** A path segment with its escapes undone (as it came when they are malformed). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The query (or body) as `schema` reads it. @throws AdminError 400 naming what is wrong */
function parse<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new AdminError(400, AdminErrorCode.InvalidRequest, describeIssues(parsed.error));
  return parsed.data;
}

/** An id from the path. @throws AdminError 400 when it cannot be one */
function checkId(id: string, name = 'chat_id'): string {
  if (!Id.safeParse(id).success)
    throw new AdminError(400, AdminErrorCode.InvalidRequest, `${name} "${id.slice(0, 128)}" is not a valid id`);
  return id;
}
