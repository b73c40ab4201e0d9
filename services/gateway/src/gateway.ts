// The gateway: terminates client WebSockets at /ws/chat, verifies each launch token at the
// handshake, accepts user messages into the chat's inbox (then nudges the executors), and relays
// the chat's events to its sockets, filling gaps and resumes from the chat's log.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { LaunchTokenVerifier } from '@mozaiks/auth';
import { BusError } from '@mozaiks/bus';
import type { Bus, Subscription } from '@mozaiks/bus';
import { answerRequestId } from '@mozaiks/store';
import type { ChatInbox, ChatLog, NewInput, PendingInput } from '@mozaiks/store';
import { CloseCode, ErrorCode, LiveEventEnvelope, parseClientMessage, parseStartChat } from '@mozaiks/protocol';
import type {
  ChatControl,
  ChatControlReply,
  ChatNudge,
  ErrorEvent,
  LaunchContext,
  ServerEvent,
  Subjects,
  Tenant,
  UserMessage,
} from '@mozaiks/protocol';
import { SpanKind, childTraceparent, newTraceparent, opsRoutes, sendJson, startSpan } from '@mozaiks/telemetry';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { fromUpstream, toUpstream, upstreamPathIds } from './upstream-dialect.js';

export const CHAT_PATH = '/ws/chat';
/** Starts a chat's run without a socket (`startup_mode: BackendOnly`, or a message from a backend). */
export const START_PATH = '/chat/start';

/** Times a nudge that could not be published is tried again (over about 25 seconds). */
const NUDGE_RETRIES = 6;

/** Events read from the log at a time when replaying. */
const REPLAY_PAGE = 500;

export interface GatewayOptions {
  verifier: LaunchTokenVerifier;
  bus: Bus;
  /** Where missed events are read back from. */
  log: ChatLog;
  /** Where user messages are accepted, in order. */
  inbox: ChatInbox;
  subjects: Subjects;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Largest frame a client may send. @default 1 MiB */
  maxMessageBytes?: number;
  /** Interval of WebSocket pings that detect dead peers. @default 30000 */
  heartbeatMs?: number;
  /** Bytes held for one socket that reads too slowly before it is closed with 4008. @default 8 MiB */
  maxBufferedBytes?: number;
  /** Time a replay waits for a slow socket to drain before closing it with 4008. @default 30000 */
  drainTimeoutMs?: number;
  /** Leeway after a token's `exp` before its open socket is closed with 4001 (as at the handshake). @default 5000 */
  tokenLeewayMs?: number;
  /** A message sent while the chat's run is going: queued, refused, or cancelling the run. @default 'enqueue' */
  doubleTexting?: 'enqueue' | 'reject' | 'interrupt';
  /** Whether the runtime behind the gateway can take work, for /ready. @default always */
  isReady?: () => boolean;
  /** Serve the web console at /console (CONSOLE_ENABLED). @default false */
  console?: boolean;
}

interface Connection {
  socket: WebSocket;
  /** The TCP socket under it: events sent in one tick leave in one write. */
  raw: Duplex;
  /** Whether `raw` is corked until the end of this tick. */
  corked: boolean;
  /** The newest token's claims (a `refresh` replaces them). */
  launch: LaunchContext;
  tenant: Tenant;
  subscription: Subscription;
  /** Whether the last ping was answered; only a pong to a ping counts. */
  alive: boolean;
  /** The payload of the ping waiting for its pong: a pong must echo it to count. */
  pinged: Buffer | undefined;
  /** Closes the socket when its token expires. */
  expiry: NodeJS.Timeout | undefined;
  log: Logger;
  /** Highest `seq` sent on this socket: nothing at or below it is sent again, nothing above it skipped. */
  lastSeq: number;
  /** Deliveries run one at a time, in order, because filling a gap reads the store. */
  queue: Promise<void>;
  /** Settles once the socket's starting point is set (and a new chat's opening queued). */
  opened: Promise<void>;
  /** The client's frames are handled one after another, so one socket's messages keep their order. */
  inbound: Promise<void>;
  /** The wire format: this runtime's, or the Python runtime's `chat.*` envelopes (upstream-dialect.ts). */
  dialect: 'native' | 'upstream';
}

export class Gateway {
  readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private heartbeat: NodeJS.Timeout | undefined;
  private accepting = true;
  /** A token the console's Token field starts with (the development token of `npm start`). */
  consoleToken: string | undefined;

  constructor(private readonly options: GatewayOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 1024 * 1024 });
    this.server = createServer(
      opsRoutes({
        metrics: options.metrics,
        isReady: () => this.accepting && (this.options.isReady?.() ?? true),
        routes: {
          [CHAT_PATH]: (_req, res) =>
            sendJson(res, 426, { error: 'upgrade_required', message: `${CHAT_PATH} speaks WebSocket` }),
          ...(options.console ? consoleRoutes(() => this.consoleToken) : {}),
        },
        postRoutes: { [START_PATH]: (req, res) => void this.startOverHttp(req, res) },
      }),
    );
    this.server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    // Live events sent while the bus was away are lost: read them back for every socket.
    options.bus.onReconnect(() => {
      for (const c of this.connections) this.resync(c);
    });
  }

  private resync(c: Connection): void {
    c.queue = c.queue.then(() => this.replay(c, c.lastSeq)).catch((error: unknown) => this.deliveryFailed(c, error));
  }

  /** Listens on `port` (0 picks one) and returns the address. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const interval = this.options.heartbeatMs ?? 30_000;
    this.heartbeat = setInterval(() => this.ping(), interval).unref();
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting, asks every client to reconnect elsewhere (1012), and closes the server. */
  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    for (const c of this.connections) c.socket.close(CloseCode.ServiceRestart, 'server restarting; reconnect');
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The launch token's context, or why it is refused (logged with the caller's address, never the token). */
  private async verify(token: string, req: IncomingMessage): Promise<LaunchContext | string> {
    try {
      return await this.options.verifier.verify(token);
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'invalid token';
      this.options.logger.info({ reason, remote: req.socket.remoteAddress }, 'launch token refused');
      return reason;
    }
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The Python runtime's path names the chat; its token comes as access_token.
    const pathIds = url.pathname === CHAT_PATH ? undefined : upstreamPathIds(url.pathname);
    if (url.pathname !== CHAT_PATH && !pathIds) {
      return refuse(
        socket,
        404,
        'not_found',
        `no WebSocket at ${url.pathname}; use ${CHAT_PATH} (or /ws/{workflow_id}/{app_id}/{chat_id}/{user_id})`,
      );
    }
    if (!this.accepting) return refuse(socket, 503, 'unavailable', 'server is shutting down');
    const lastSeqParam = url.searchParams.get('last_seq');
    const lastSeq = lastSeqParam === null ? undefined : Number(lastSeqParam);
    if (lastSeq !== undefined && !(Number.isInteger(lastSeq) && lastSeq >= 0)) {
      return refuse(socket, 400, ErrorCode.InvalidMessage, 'last_seq must be a non-negative integer');
    }
    const token = url.searchParams.get(pathIds ? 'access_token' : 'token') ?? bearer(req.headers.authorization);
    if (!token)
      return refuse(
        socket,
        401,
        ErrorCode.Unauthorized,
        `missing launch token: pass ?${pathIds ? 'access_token' : 'token'}=<jwt>`,
      );
    const launch = await this.verify(token, req);
    if (typeof launch === 'string') return refuse(socket, 401, ErrorCode.Unauthorized, launch);
    // The gateway may have begun to stop while the token was checked: this socket would outlive it.
    if (!this.accepting) return refuse(socket, 503, 'unavailable', 'server is shutting down');
    const differs =
      pathIds && (['workflow_id', 'app_id', 'chat_id', 'user_id'] as const).find((k) => pathIds[k] !== launch[k]);
    if (differs)
      return refuse(
        socket,
        403,
        ErrorCode.IdentityMismatch,
        `the path's ${differs} "${pathIds[differs].slice(0, 128)}" is not the token's`,
      );
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.open(ws, socket, launch, lastSeq, pathIds ? 'upstream' : 'native'),
    );
  }

  private open(
    socket: WebSocket,
    raw: Duplex,
    launch: LaunchContext,
    resumeFrom: number | undefined,
    dialect: Connection['dialect'],
  ): void {
    const { bus, subjects, metrics } = this.options;
    const log = this.options.logger.child({
      app_id: launch.app_id,
      user_id: launch.user_id,
      workflow_id: launch.workflow_id,
      chat_id: launch.chat_id,
    });
    const tenant: Tenant = { app_id: launch.app_id, user_id: launch.user_id };
    const connection: Connection = {
      socket,
      raw,
      corked: false,
      launch,
      tenant,
      subscription: undefined!,
      alive: true,
      pinged: undefined,
      expiry: undefined,
      log,
      lastSeq: 0,
      queue: Promise.resolve(),
      opened: Promise.resolve(),
      inbound: Promise.resolve(),
      dialect,
    };
    this.watchExpiry(connection);
    const enqueue = (work: () => Promise<void>) => {
      connection.queue = connection.queue.then(work).catch((error: unknown) => this.deliveryFailed(connection, error));
    };
    // Subscribed before the starting point is read, so no event falls between the two.
    connection.subscription = bus.subscribe(subjects.chat(launch.app_id, launch.chat_id), (message) => {
      const envelope = LiveEventEnvelope.safeParse(message.data);
      if (!envelope.success) return log.error('dropped malformed chat event');
      // Chat ids are unique per tenant, not globally: show a socket only its owner's events.
      if (envelope.data.user_id !== launch.user_id || envelope.data.app_id !== launch.app_id) return;
      const event = envelope.data.event as ServerEvent;
      enqueue(() => this.deliver(connection, event));
    });
    // Where this socket starts: after `last_seq` (replaying what it missed), or at the chat's present.
    enqueue(async () => {
      const chat = await this.options.log.getChat(tenant, launch.chat_id);
      connection.lastSeq = chat?.last_seq ?? 0;
      if (!chat) await this.announceOpening(connection);
      if (resumeFrom !== undefined) await this.resume(connection, resumeFrom, chat?.last_seq ?? 0);
    });
    // The user's first message is queued after the chat's opening.
    connection.opened = connection.queue;
    this.connections.add(connection);
    metrics.websocketConnections.inc();
    log.info('client connected');

    socket.on('pong', (data) => {
      // Only the echo of the ping counts: unsolicited pongs prove nothing about a peer that does not read.
      if (!connection.pinged || !data.equals(connection.pinged)) return;
      connection.pinged = undefined;
      connection.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      connection.inbound = connection.inbound
        .then(() => this.receive(connection, data, isBinary))
        .catch((error: unknown) => {
          log.error(
            { error: error instanceof Error ? error.message : String(error) },
            'could not handle a client message',
          );
        });
    });
    socket.on('error', (error) => log.warn({ error: error.message }, 'socket error'));
    socket.on('close', (code) => {
      clearTimeout(connection.expiry);
      this.connections.delete(connection);
      metrics.websocketConnections.dec();
      void connection.subscription.unsubscribe();
      log.info({ code }, 'client disconnected');
    });
  }

  /**
   * A chat opened for the first time: its first input says so, ahead of anything the user sends,
   * so an agent-driven workflow speaks first (the executor ignores it for a user-driven one). Its
   * request id is the chat's own, so several sockets opening the chat at once accept it once.
   */
  private async announceOpening(c: Connection): Promise<void> {
    const traceparent = newTraceparent('chat open');
    const { input, created } = await this.options.inbox.accept(
      c.tenant,
      c.launch.chat_id,
      openingInput(c.launch, traceparent),
    );
    if (!created) return;
    await this.nudge(c.launch, input, traceparent).catch((error: unknown) => {
      c.log.warn(
        { error: error instanceof Error ? error.message : String(error) },
        "could not announce the chat's opening; trying again",
      );
      this.nudgeLater(c, input, traceparent);
    });
  }

  /**
   * `POST /chat/start` with the launch token as a bearer: without a body, the chat's opening (a
   * BackendOnly or AgentDriven workflow's first run starts; nothing runs for a UserDriven one);
   * with `{content}`, that message, as a socket's `user_message`. Nothing waits for the run: its
   * events are stored as always, and a socket opened later reads them with `resume`. 202 with the
   * input's `request_id`; the same `request_id` sent again is accepted once.
   */
  private async startOverHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.accepting) return sendJson(res, 503, { error: 'unavailable', message: 'server is shutting down' });
    const token = bearer(req.headers.authorization);
    if (!token)
      return sendJson(res, 401, {
        error: ErrorCode.Unauthorized,
        message: 'missing launch token: send Authorization: Bearer <jwt>',
      });
    const launch = await this.verify(token, req);
    if (typeof launch === 'string') return sendJson(res, 401, { error: ErrorCode.Unauthorized, message: launch });
    const body = await readBody(req, this.options.maxMessageBytes ?? 1024 * 1024);
    if (body === undefined)
      return sendJson(res, 413, {
        error: ErrorCode.InvalidMessage,
        message: `the body is larger than ${this.options.maxMessageBytes ?? 1024 * 1024} bytes`,
      });
    const parsed = parseStartChat(body);
    if (!parsed.ok) return sendJson(res, 400, { error: ErrorCode.InvalidMessage, message: parsed.message });
    const start = parsed.request;
    const tenant: Tenant = { app_id: launch.app_id, user_id: launch.user_id };
    const log = this.options.logger.child({
      app_id: launch.app_id,
      user_id: launch.user_id,
      workflow_id: launch.workflow_id,
      chat_id: launch.chat_id,
    });
    const span = startSpan('chat start', { kind: SpanKind.SERVER, attributes: spanAttributes(launch) });
    try {
      // The content is the chat's next message; without it, the chat opens (once, however many sockets and starts).
      const input = await this.options.inbox.accept(
        tenant,
        launch.chat_id,
        start.content === undefined
          ? openingInput(launch, span.traceparent)
          : {
              ...newInput(launch, start.content, span.traceparent),
              ...(start.request_id ? { request_id: start.request_id } : {}),
            },
      );
      if (input.created)
        await this.nudge(launch, input.input, span.traceparent).catch(() =>
          this.nudgeLater({ launch, log }, input.input, span.traceparent),
        );
      log.info({ request_id: input.input.request_id, created: input.created }, 'chat started over HTTP');
      sendJson(res, 202, {
        chat_id: launch.chat_id,
        workflow_id: launch.workflow_id,
        request_id: input.input.request_id,
        created: input.created,
      });
      span.end({ 'mozaiks.input.outcome': input.created ? 'accepted' : 'repeated' });
    } catch (error) {
      log.error({ error: error instanceof Error ? error.message : String(error) }, "could not store the chat's start");
      sendJson(res, 500, { error: ErrorCode.Internal, message: 'the start could not be stored; send it again' });
      span.end({ 'mozaiks.input.outcome': 'failed' });
    }
  }

  /** Tells the executors that the chat has work in its inbox, from `input` on. */
  private nudge(launch: LaunchContext, input: PendingInput, traceparent: string): Promise<void> {
    const nudge: ChatNudge = {
      v: 1,
      app_id: launch.app_id,
      user_id: launch.user_id,
      chat_id: launch.chat_id,
      workflow_id: launch.workflow_id,
      input_seq: input.input_seq,
    };
    // One nudge per accepted input: the stream stores a repeated one once.
    const msgId = `${launch.app_id}.${launch.user_id}.${launch.chat_id}.${input.request_id}`;
    const subject = this.options.subjects.run(launch.app_id, launch.workflow_id);
    return this.options.bus.publish(subject, nudge, {
      msgId,
      headers: { traceparent: childTraceparent(traceparent, `publish ${this.options.subjects.allRuns}`) },
    });
  }

  /**
   * Publishes a nudge that failed (NATS away) again, for about 25 seconds; the input is stored, so
   * after that an executor's sweep takes it up.
   */
  private nudgeLater(
    c: Pick<Connection, 'launch' | 'log'>,
    input: PendingInput,
    traceparent: string,
    attempt = 1,
  ): void {
    if (attempt > NUDGE_RETRIES || !this.accepting) {
      c.log.warn({ request_id: input.request_id }, 'input not announced; an executor sweep will take it up');
      return;
    }
    const delay = Math.min(8000, 250 * 2 ** attempt);
    setTimeout(() => {
      this.nudge(c.launch, input, traceparent).catch(() => this.nudgeLater(c, input, traceparent, attempt + 1));
    }, delay).unref();
  }

  /** Sends a live event in `seq` order: repeats are dropped, and a gap is filled from the store first. */
  private async deliver(c: Connection, event: ServerEvent): Promise<void> {
    if (event.seq === undefined) return this.send(c, event);
    if (event.seq <= c.lastSeq) return;
    if (event.seq > c.lastSeq + 1) await this.replay(c, c.lastSeq, event.seq - 1);
    this.send(c, event);
    c.lastSeq = Math.max(c.lastSeq, event.seq);
  }

  /** Replays from `from`, which must not lie beyond the chat's newest event. */
  private async resume(c: Connection, from: number, newest?: number): Promise<void> {
    const latest = newest ?? (await this.options.log.getChat(c.tenant, c.launch.chat_id))?.last_seq ?? 0;
    if (from > latest) {
      // A client that counts wrong would otherwise wait in silence for events it will never get.
      this.reject(
        c,
        ErrorCode.InvalidMessage,
        `last_seq ${from} is beyond the chat's newest event (${latest}); resume from ${latest} or less`,
      );
      return;
    }
    await this.replay(c, from);
  }

  /**
   * Sends the persisted events after `afterSeq` (up to `upTo`) that this socket has not had, a page
   * at a time, reading the next page only once the socket has taken the last one in.
   */
  private async replay(c: Connection, afterSeq: number, upTo = Infinity): Promise<void> {
    c.lastSeq = afterSeq;
    for (;;) {
      if (!(await this.drained(c))) return;
      const page = await this.options.log.listEvents(c.tenant, c.launch.chat_id, c.lastSeq, REPLAY_PAGE);
      for (const event of page) {
        if (event.seq! > upTo || c.socket.readyState !== WebSocket.OPEN) return;
        this.send(c, event);
        c.lastSeq = event.seq!;
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }

  /**
   * Waits until the socket holds less than a quarter of its buffer limit; false once it is closed
   * (or was closed for not draining in time).
   */
  private async drained(c: Connection): Promise<boolean> {
    const low = this.maxBuffered / 4;
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 30_000);
    while (c.socket.readyState === WebSocket.OPEN && c.socket.bufferedAmount > low) {
      if (Date.now() > deadline) {
        this.closeSlow(c);
        return false;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return c.socket.readyState === WebSocket.OPEN;
  }

  private get maxBuffered(): number {
    return this.options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  /** Sends an event, unless the socket holds more than its limit already: then it is closed (4008). */
  private send(c: Connection, event: ServerEvent): void {
    if (c.socket.readyState !== WebSocket.OPEN) return;
    if (c.socket.bufferedAmount > this.maxBuffered) return this.closeSlow(c);
    // A step's events come together (a reply, the run's end, its usage): one write to the client,
    // not one each. Corked until the tick's microtasks are done, which adds no wait.
    if (!c.corked) {
      c.corked = true;
      c.raw.cork();
      setImmediate(() => {
        c.corked = false;
        c.raw.uncork();
      });
    }
    if (c.dialect === 'native') return c.socket.send(JSON.stringify(event));
    const envelope = toUpstream(event);
    if (envelope) c.socket.send(JSON.stringify(envelope));
  }

  /** Closes a socket whose client does not read: it resumes with `last_seq` when it connects again. */
  private closeSlow(c: Connection): void {
    if (c.socket.readyState !== WebSocket.OPEN) return;
    c.log.warn(
      { buffered_bytes: c.socket.bufferedAmount, limit: this.maxBuffered },
      'client reads too slowly; closing its socket',
    );
    c.socket.close(CloseCode.SlowConsumer, 'reading too slowly; reconnect with last_seq');
    // The close frame waits behind what the client did not read: do not wait for it.
    setTimeout(() => c.socket.terminate(), 1000).unref();
  }

  /** Closes the socket (4001) when its token expires, as the handshake would have refused it. */
  private watchExpiry(c: Connection): void {
    clearTimeout(c.expiry);
    const at = c.launch.expires_at * 1000 + (this.options.tokenLeewayMs ?? 5000);
    // Timers run at most ~24.8 days ahead; a later expiry is looked at again then.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    c.expiry = setTimeout(() => {
      if (Date.now() < at) return this.watchExpiry(c);
      this.reject(c, ErrorCode.TokenExpired, 'the launch token expired; connect again with a new token and last_seq');
      c.socket.close(CloseCode.TokenExpired, 'token expired');
    }, delay);
    c.expiry.unref();
  }

  /** Replaces the socket's token with a newer one for the same chat. */
  private async refresh(c: Connection, token: string): Promise<void> {
    let fresh: LaunchContext;
    try {
      fresh = await this.options.verifier.verify(token);
    } catch (error) {
      return this.reject(
        c,
        ErrorCode.Unauthorized,
        `refresh refused: ${error instanceof Error ? error.message : 'invalid token'}; the current token stays`,
      );
    }
    const differs = (['user_id', 'app_id', 'workflow_id', 'chat_id'] as const).find((k) => fresh[k] !== c.launch[k]);
    if (differs)
      return this.reject(
        c,
        ErrorCode.Unauthorized,
        `refresh refused: the new token's ${differs} is not this socket's; the current token stays`,
      );
    // Custom claims and max_tokens follow the newest token, for the messages sent from now on.
    c.launch = fresh;
    this.watchExpiry(c);
    const expiresAt = new Date(fresh.expires_at * 1000).toISOString();
    c.log.info({ expires_at: expiresAt }, 'launch token refreshed');
    this.send(c, {
      type: 'token_refreshed',
      chat_id: fresh.chat_id,
      event_id: newEventId(),
      timestamp: new Date().toISOString(),
      expires_at: expiresAt,
    });
  }

  private deliveryFailed(c: Connection, error: unknown): void {
    // The socket can no longer promise a gap-free stream: the client reconnects with its last seq.
    c.log.error({ error: error instanceof Error ? error.message : String(error) }, 'could not deliver chat events');
    c.socket.close(CloseCode.InternalError, 'event delivery failed; reconnect with last_seq');
  }

  private async receive(c: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return this.reject(c, ErrorCode.InvalidMessage, 'binary frames are not accepted; send JSON text');
    const parsed = c.dialect === 'upstream' ? fromUpstream(data.toString()) : parseClientMessage(data.toString());
    if (!parsed.ok) return this.reject(c, parsed.code, parsed.message);
    const message = parsed.message;
    switch (message.type) {
      case 'resume': {
        const from = message.last_seq;
        c.queue = c.queue.then(() => this.resume(c, from)).catch((error: unknown) => this.deliveryFailed(c, error));
        return;
      }
      case 'user_input':
        return this.answer(c, { request_id: message.request_id }, message.content);
      case 'ui_tool_response':
        return this.answer(c, { tool_call_id: message.tool_call_id }, JSON.stringify(message.response));
      case 'refresh':
        return this.refresh(c, message.token);
      case 'cancel':
        return this.cancel(c, message.run_id);
      case 'user_message':
        return this.userMessage(c, message);
    }
  }

  private async userMessage(c: Connection, message: UserMessage): Promise<void> {
    const { launch } = c;
    if (message.chat_id !== undefined && message.chat_id !== launch.chat_id) {
      return this.reject(
        c,
        ErrorCode.IdentityMismatch,
        `chat_id "${message.chat_id}" is not the chat this token was issued for`,
      );
    }
    if (message.user_id !== undefined && message.user_id !== launch.user_id) {
      return this.reject(
        c,
        ErrorCode.IdentityMismatch,
        `user_id "${message.user_id}" is not the user this token was issued for`,
      );
    }
    await c.opened;
    // The user message's trace: this span, the run it causes and everything the run does.
    const span = startSpan('chat user_message', { kind: SpanKind.SERVER, attributes: spanAttributes(launch) });
    const input = newInput(launch, message.content, span.traceparent);
    c.log.info({ request_id: input.request_id, trace_id: span.traceId }, 'user message received');
    const mode = this.options.doubleTexting ?? 'enqueue';
    if (mode === 'interrupt') await this.requestCancel(c);
    span.end({ 'mozaiks.input.outcome': await this.acceptInput(c, input, 'message', mode === 'reject') });
  }

  /** `cancel`: stops the chat's current run, wherever it runs; says so when there is none. */
  private async cancel(c: Connection, runId: string | undefined): Promise<void> {
    const outcome = await this.requestCancel(c, runId);
    if (outcome === 'none') {
      this.reject(
        c,
        ErrorCode.NoActiveRun,
        runId ? `run "${runId.slice(0, 200)}" is not a run of this chat that is going` : 'no run of this chat is going',
      );
    } else if (outcome === 'failed') {
      this.reject(c, ErrorCode.Internal, 'the cancel could not be delivered; send it again', true);
    }
  }

  /** Asks the executor serving the chat to cancel its current run (the run's events say it ended). */
  private async requestCancel(c: Connection, runId?: string): Promise<'cancelled' | 'none' | 'failed'> {
    const { launch } = c;
    const request: ChatControl = {
      v: 1,
      app_id: launch.app_id,
      user_id: launch.user_id,
      chat_id: launch.chat_id,
      action: 'cancel',
      ...(runId ? { run_id: runId } : {}),
    };
    try {
      const reply = await this.options.bus.request<ChatControlReply>(
        this.options.subjects.control(launch.app_id, launch.chat_id),
        request,
        { timeoutMs: 2000 },
      );
      return reply.run_id ? 'cancelled' : 'none';
    } catch (error) {
      // Nobody serves the chat: no run is going.
      if (error instanceof BusError && error.code === 'no_responders') return 'none';
      c.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not deliver a cancel');
      return 'failed';
    }
  }

  /**
   * Stores the input as the chat's next (runs follow the order inputs were accepted in), then
   * nudges the executors. Once stored, the input runs: a failed nudge is taken up by a sweep.
   */
  private async acceptInput(
    c: Connection,
    input: NewInput,
    what: 'message' | 'answer',
    onlyIfIdle = false,
  ): Promise<'accepted' | 'repeated' | 'failed' | 'busy'> {
    let accepted;
    try {
      if (onlyIfIdle) {
        const { inbox, log } = this.options;
        const done = (await log.getChat(c.tenant, c.launch.chat_id))?.inputs_done ?? 0;
        accepted = await inbox.acceptIfIdle(c.tenant, c.launch.chat_id, input, done + 1);
        if (!accepted) {
          // The chat's opening is not something the user sent: a message waits behind it.
          const ahead = await inbox.pending(c.tenant, c.launch.chat_id, done, 8);
          if (ahead.length > 0 && ahead.every((i) => i.kind === 'open')) {
            accepted = await inbox.accept(c.tenant, c.launch.chat_id, input);
          } else {
            this.reject(
              c,
              ErrorCode.RunInProgress,
              'a run of this chat is going; send the message again when it has ended',
              true,
            );
            return 'busy';
          }
        }
      } else {
        accepted = await this.options.inbox.accept(c.tenant, c.launch.chat_id, input);
      }
    } catch (error) {
      c.log.error({ error: error instanceof Error ? error.message : String(error) }, `could not store user ${what}`);
      this.reject(c, ErrorCode.Internal, `the ${what} could not be stored; send it again`, true);
      return 'failed';
    }
    if (!accepted.created) return 'repeated';
    await this.nudge(c.launch, accepted.input, input.traceparent!).catch((error: unknown) => {
      c.log.warn(
        { error: error instanceof Error ? error.message : String(error) },
        `could not announce user ${what}; trying again`,
      );
      this.nudgeLater(c, accepted.input, input.traceparent!);
    });
    return 'accepted';
  }

  /**
   * Accepts the answer to the chat's open input request (a `user_input`) or UI tool (a
   * `ui_tool_response`, whose response is `content` as JSON), once; the run goes on from there.
   */
  private async answer(
    c: Connection,
    answered: { request_id: string } | { tool_call_id: string },
    content: string,
  ): Promise<void> {
    const { launch } = c;
    await c.opened;
    const refuse = () =>
      this.reject(
        c,
        ErrorCode.NoSuchInputRequest,
        'request_id' in answered
          ? `no open input request "${answered.request_id.slice(0, 200)}" in this chat`
          : `no UI tool call "${answered.tool_call_id.slice(0, 200)}" is waiting for a response in this chat`,
      );
    let open;
    try {
      open = (await this.options.log.getChat(c.tenant, launch.chat_id))?.awaiting;
    } catch (error) {
      c.log.error({ error: error instanceof Error ? error.message : String(error) }, 'could not read the chat');
      return this.reject(c, ErrorCode.Internal, 'the answer could not be stored; send it again', true);
    }
    const matches =
      'request_id' in answered
        ? open?.request_id === answered.request_id && open.tool_call_id === undefined
        : open?.tool_call_id === answered.tool_call_id;
    if (!open || !matches) return refuse();
    const span = startSpan(`chat ${'request_id' in answered ? 'user_input' : 'ui_tool_response'}`, {
      kind: SpanKind.SERVER,
      attributes: spanAttributes(launch),
    });
    const input: NewInput = {
      ...newInput(launch, content, span.traceparent),
      request_id: answerRequestId(open.request_id),
      kind: 'input',
      answers: open,
    };
    // Accepted once per request: a second answer finds the first in the inbox.
    const outcome = await this.acceptInput(c, input, 'answer');
    span.end({ 'mozaiks.input.outcome': outcome });
    if (outcome === 'repeated') refuse();
  }

  private reject(c: Connection, code: ErrorEvent['code'], message: string, retryable = false): void {
    c.log.info({ code, problem: message }, 'client message refused');
    const event: ErrorEvent = {
      type: 'error',
      chat_id: c.launch.chat_id,
      event_id: newEventId(),
      timestamp: new Date().toISOString(),
      code,
      message,
      retryable,
    };
    this.send(c, event);
  }

  private ping(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        // A peer with unread events behind the ping never saw it: it reads too slowly (or is gone),
        // and is told so in the one way that does not wait on it.
        if (c.socket.bufferedAmount > 0 && c.socket.readyState === WebSocket.OPEN) this.closeSlow(c);
        else c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.pinged = randomBytes(8);
      c.socket.ping(c.pinged);
    }
  }
}

/** The web console's page and script (services/gateway/console, built by `npm run console`). */
function consoleRoutes(
  token: () => string | undefined,
): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  const dir = path.join(__dirname, '../console');
  const page = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const script = readFileSync(path.join(dir, 'app.js'));
  const headers = {
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return {
    // The page may carry a token: never cached.
    '/console': (_req, res) =>
      res
        .writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(page.replace('%%DEV_TOKEN%%', attribute(token() ?? ''))),
    '/console/app.js': (_req, res) =>
      res
        .writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
        .end(script),
  };
}

/** An input from the token's ids and claims, with the user's words. */
/** What a span says of the chat it belongs to: ids, never content. */
function spanAttributes(launch: LaunchContext): Record<string, string> {
  return {
    'mozaiks.app_id': launch.app_id,
    'mozaiks.user_id': launch.user_id,
    'mozaiks.chat_id': launch.chat_id,
    'mozaiks.workflow_id': launch.workflow_id,
  };
}

function newInput(launch: LaunchContext, content: string, traceparent: string): NewInput {
  return {
    request_id: randomUUID(),
    workflow_id: launch.workflow_id,
    content,
    context: launch.custom,
    ...(launch.max_tokens === undefined ? {} : { max_tokens: launch.max_tokens }),
    received_at: new Date().toISOString(),
    traceparent,
  };
}

/** A chat's opening: one per chat (its request id is the chat's), however many sockets and starts announce it. */
function openingInput(launch: LaunchContext, traceparent: string): NewInput {
  return { ...newInput(launch, '', traceparent), request_id: `open_${launch.chat_id}`, kind: 'open' };
}

function newEventId(): string {
  return `evt_${randomUUID().replace(/-/g, '')}`;
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

function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1];
}

/** Answers a WebSocket handshake with an HTTP error and a JSON body saying why. */
function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[
      status
    ] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
