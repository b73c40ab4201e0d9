// The WebSocket handshake: which socket is asked for (this runtime's path, or the Python runtime's
// that names the chat), from where to resume, and the launch token, checked by the one verifier
// the gateway has (the handshake, `refresh` and `POST /chat/start` all use it).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { LaunchTokenVerifier } from '@mozaiks/auth';
import { ErrorCode } from '@mozaiks/protocol';
import type { LaunchContext } from '@mozaiks/protocol';
import type { Logger } from '@mozaiks/telemetry';
import type { Dialect } from './dialects/dialect.js';
import { nativeDialect } from './dialects/native.js';
import { pythonDialect, pythonPathIds } from './dialects/python.js';
import type { PathIds } from './dialects/python.js';

export const CHAT_PATH = '/ws/chat';

/** A handshake as the client asked for it, its token not yet checked. */
export interface SocketRequest {
  dialect: Dialect;
  /** The ids the Python runtime's path names (checked against the token's). */
  pathIds?: PathIds;
  /** Resume after this `seq`. */
  lastSeq?: number;
  token: string;
}

/** A handshake refused before its token is checked: the HTTP answer and why. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** What a handshake asks for, or why it is refused. */
export function readSocketRequest(req: IncomingMessage): SocketRequest | Refusal {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // The Python runtime's path names the chat; its token comes as access_token.
  const pathIds = url.pathname === CHAT_PATH ? undefined : pythonPathIds(url.pathname);
  if (url.pathname !== CHAT_PATH && !pathIds) {
    const message = `no WebSocket at ${url.pathname}; use ${CHAT_PATH} (or /ws/{workflow_id}/{app_id}/{chat_id}/{user_id})`;
    return { status: 404, code: 'not_found', message };
  }
  const lastSeqParam = url.searchParams.get('last_seq');
  const lastSeq = lastSeqParam === null ? undefined : Number(lastSeqParam);
  if (lastSeq !== undefined && !(Number.isInteger(lastSeq) && lastSeq >= 0)) {
    return { status: 400, code: ErrorCode.InvalidMessage, message: 'last_seq must be a non-negative integer' };
  }
  const tokenParam = pathIds ? 'access_token' : 'token';
  const token = url.searchParams.get(tokenParam) ?? bearer(req.headers.authorization);
  if (!token)
    return { status: 401, code: ErrorCode.Unauthorized, message: `missing launch token: pass ?${tokenParam}=<jwt>` };
  return {
    dialect: pathIds ? pythonDialect : nativeDialect,
    token,
    ...(pathIds ? { pathIds } : {}),
    ...(lastSeq === undefined ? {} : { lastSeq }),
  };
}

/** The id the Python runtime's path names that the token does not, if any (the socket is then refused with 403). */
export function pathMismatch(pathIds: PathIds | undefined, launch: LaunchContext): keyof PathIds | undefined {
  return pathIds && (['workflow_id', 'app_id', 'chat_id', 'user_id'] as const).find((k) => pathIds[k] !== launch[k]);
}

/** Checks launch tokens for the gateway: a refused one is logged with the caller's address, never the token. */
export class TokenCheck {
  constructor(
    private readonly verifier: LaunchTokenVerifier,
    private readonly logger: Logger,
  ) {}

  /** The token's context, or why it is refused (safe to show the client). */
  async verify(token: string, remote: string | undefined): Promise<LaunchContext | string> {
    try {
      return await this.verifier.verify(token);
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'invalid token';
      this.logger.info({ reason, remote }, 'launch token refused');
      return reason;
    }
  }
}

/** The token of an `Authorization: Bearer <jwt>` header. */
export function bearer(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(.+)$/i)?.[1];
}

/** Answers a WebSocket handshake with an HTTP error and a JSON body saying why. */
export function refuse(socket: Duplex, { status, code, message }: Refusal): void {
  const body = JSON.stringify({ error: code, message });
  const reason =
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      503: 'Service Unavailable',
    }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
