// The gateway: terminates client WebSockets at /ws/chat (and the Python runtime's path), verifies
// each launch token at the handshake, relays the chat's events to its sockets, and takes the
// clients' messages into the chat's inbox. Each job has its room: the handshake, the connection
// (ordered delivery, replay, backpressure, expiry), the heartbeat, the client's commands, the
// input intake (shared with `POST /chat/start`) and the console's routes.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, LiveEventEnvelope } from '@mozaiks/protocol';
import type { ChatDeleted, LaunchContext, ServerEvent } from '@mozaiks/protocol';
import { API_PREFIX, ChatAdmin, adminHttp } from '@mozaiks/chat-admin';
import { opsRoutes, sendJson } from '@mozaiks/telemetry';
import { ChatConnection } from './chat-connection.js';
import { ClientCommands } from './client-commands.js';
import { consoleRoutes } from './console-routes.js';
import type { Dialect } from './dialects/dialect.js';
import { gatewayOptionsWithDefaults } from './gateway-options.js';
import type { GatewayOptions, GatewayOptionsWithDefaults } from './gateway-options.js';
import { DoorLimits } from './door-limits.js';
import { CHAT_PATH, TokenCheck, pathMismatch, readSocketRequest, refuse } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { START_PATH, startChatOverHttp } from './http-start.js';
import { InputIntake } from './input-intake.js';

export class Gateway {
  readonly server: Server;
  private readonly options: GatewayOptionsWithDefaults;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ChatConnection>();
  private readonly heartbeat: Heartbeat;
  private readonly tokens: TokenCheck;
  private readonly intake: InputIntake;
  private readonly commands: ClientCommands;
  private readonly door: DoorLimits;
  private accepting = true;
  /** A token the console's Token field starts with (the development token of `npm start`). */
  consoleToken: string | undefined;

  constructor(given: GatewayOptions) {
    const options = (this.options = gatewayOptionsWithDefaults(given));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
    this.heartbeat = new Heartbeat(this.connections, options.heartbeatMs);
    this.tokens = new TokenCheck(options.verifier, options.logger);
    const accepting = () => this.accepting;
    this.door = new DoorLimits(options.limits, options.metrics);
    this.intake = new InputIntake({ bus: options.bus, inbox: options.inbox, subjects: options.subjects, accepting });
    this.commands = new ClientCommands({ ...options, intake: this.intake, tokens: this.tokens, door: this.door });
    const start = {
      tokens: this.tokens,
      intake: this.intake,
      door: this.door,
      logger: options.logger,
      maxMessageBytes: options.maxMessageBytes,
      accepting,
    };
    const ops = opsRoutes({
      metrics: options.metrics,
      isReady: () => this.accepting && options.isReady(),
      routes: {
        [CHAT_PATH]: (_req, res) =>
          sendJson(res, 426, { error: 'upgrade_required', message: `${CHAT_PATH} speaks WebSocket` }),
        ...(options.console ? consoleRoutes(() => this.consoleToken) : {}),
      },
      postRoutes: { [START_PATH]: (req, res) => void startChatOverHttp(req, res, start) },
    });
    // The control plane's API over chats, when the gateway was given the store's catalog.
    const api = options.catalog
      ? adminHttp({
          admin: new ChatAdmin({
            ...options,
            catalog: options.catalog,
            ...(options.usageStreams ? { streams: options.usageStreams } : {}),
          }),
          tokens: options.verifier,
          logger: options.logger,
        })
      : undefined;
    this.server = createServer((req, res) => (api && req.url?.startsWith(API_PREFIX) ? api(req, res) : ops(req, res)));
    this.server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    // A deleted chat's sockets are closed, on every gateway.
    options.bus.subscribe<ChatDeleted>(options.subjects.allChatDeletions, (message) => this.closeDeleted(message.data));
    // Live events sent while the bus was away are lost: read them back for every socket.
    options.bus.onReconnect(() => {
      for (const c of this.connections) c.resync();
    });
  }

  /** Closes every socket of a deleted chat with 4410 (`chat_deleted`). */
  private closeDeleted(deleted: ChatDeleted): void {
    for (const c of this.connections) {
      const { app_id, user_id, chat_id } = c.launch;
      if (app_id !== deleted.app_id || user_id !== deleted.user_id || chat_id !== deleted.chat_id) continue;
      c.log.info('chat deleted: closing its socket');
      c.socket.close(CloseCode.ChatDeleted, 'chat_deleted');
    }
  }

  /** Listens on `port` (0 picks one) and returns the address. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.heartbeat.start();
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting, asks every client to reconnect elsewhere (1012), and closes the server. */
  async stop(): Promise<void> {
    this.accepting = false;
    this.heartbeat.stop();
    for (const c of this.connections) c.socket.close(CloseCode.ServiceRestart, 'server restarting; reconnect');
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const asked = readSocketRequest(req);
    if ('status' in asked) return refuse(socket, asked);
    if (!this.accepting)
      return refuse(socket, { status: 503, code: 'unavailable', message: 'server is shutting down' });
    const launch = await this.tokens.verify(asked.token, req.socket.remoteAddress);
    if (typeof launch === 'string')
      return refuse(socket, { status: 401, code: ErrorCode.Unauthorized, message: launch });
    // The gateway may have begun to stop while the token was checked: this socket would outlive it.
    if (!this.accepting)
      return refuse(socket, { status: 503, code: 'unavailable', message: 'server is shutting down' });
    const differs = pathMismatch(asked.pathIds, launch);
    if (differs) {
      const message = `the path's ${differs} "${asked.pathIds![differs].slice(0, 128)}" is not the token's`;
      return refuse(socket, { status: 403, code: ErrorCode.IdentityMismatch, message });
    }
    const held = this.door.connect(launch);
    if ('status' in held) {
      this.options.logger.info({ app_id: launch.app_id, user_id: launch.user_id }, held.message);
      return refuse(socket, held);
    }
    // Counted out when the connection ends, however it ends (an upgrade that fails included).
    socket.once('close', held.release);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, socket, launch, asked.lastSeq, asked.dialect));
  }

  private open(
    socket: WebSocket,
    raw: Duplex,
    launch: LaunchContext,
    resumeFrom: number | undefined,
    dialect: Dialect,
  ): void {
    const { bus, subjects, metrics, log } = this.options;
    const c = new ChatConnection(socket, raw, launch, dialect, this.options.logger, this.options);
    // Subscribed before the starting point is read, so no event falls between the two.
    c.subscription = bus.subscribe(subjects.chat(launch.app_id, launch.chat_id), (message) => {
      const envelope = LiveEventEnvelope.safeParse(message.data);
      if (!envelope.success) return c.log.error('dropped malformed chat event');
      // Chat ids are unique per tenant, not globally: show a socket only its owner's events.
      if (envelope.data.user_id !== launch.user_id || envelope.data.app_id !== launch.app_id) return;
      const event = envelope.data.event as ServerEvent;
      c.enqueue(() => c.deliver(event));
    });
    // Where this socket starts: after `last_seq` (replaying what it missed), or at the chat's present.
    c.enqueue(async () => {
      const chat = await log.getChat(c.tenant, launch.chat_id);
      c.lastSeq = chat?.last_seq ?? 0;
      if (!chat) await this.intake.open(launch, c.log);
      if (resumeFrom !== undefined) await c.resume(resumeFrom, chat?.last_seq ?? 0);
    });
    // The user's first message is queued after the chat's opening.
    c.opened = c.queued;
    this.connections.add(c);
    metrics.websocketConnections.inc();
    c.log.info('client connected');
    socket.on('message', (data, isBinary) => c.receive(() => this.commands.receive(c, data, isBinary)));
    socket.on('error', (error) => c.log.warn({ error: error.message }, 'socket error'));
    socket.on('close', (code) => {
      c.closed();
      this.connections.delete(c);
      metrics.websocketConnections.dec();
      c.log.info({ code }, 'client disconnected');
    });
  }
}
