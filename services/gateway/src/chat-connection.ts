// One client socket on a chat: its events delivered in `seq` order (a gap filled from the log, a
// resume replayed page by page as the socket drains), a client that does not read closed with 4008
// rather than held in memory, and the socket closed (4001) when its launch token expires.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { Subscription } from '@mozaiks/bus';
import { errorMessage } from '@mozaiks/common';
import { CloseCode, ErrorCode, newEventId } from '@mozaiks/protocol';
import type { ErrorEvent, LaunchContext, ServerEvent, Tenant } from '@mozaiks/protocol';
import type { ChatLog } from '@mozaiks/store';
import type { Logger } from '@mozaiks/telemetry';
import type { Dialect } from './dialects/dialect.js';

/** Events read from the log at a time when replaying. */
const REPLAY_PAGE = 500;

/** What a connection needs of the gateway. */
export interface ConnectionSettings {
  log: ChatLog;
  /** Bytes held for the socket before it is closed with 4008. */
  maxBufferedBytes: number;
  /** Time a replay waits for the socket to drain before closing it with 4008. */
  drainTimeoutMs: number;
  /** Leeway after the token's `exp` before the socket is closed with 4001. */
  tokenLeewayMs: number;
}

export class ChatConnection {
  readonly tenant: Tenant;
  readonly log: Logger;
  /** The client's address, for logs. */
  readonly remote: string | undefined;
  /** The live events of the chat, set once subscribed. */
  subscription: Subscription | undefined;
  /** Highest `seq` sent on this socket: nothing at or below it is sent again, nothing above it skipped. */
  lastSeq = 0;
  /** Settles once the socket's starting point is set (and a new chat's opening queued). */
  opened: Promise<void> = Promise.resolve();
  /** Deliveries run one at a time, in order, because filling a gap reads the store. */
  private queue: Promise<void> = Promise.resolve();
  /** The client's frames are handled one after another, so one socket's messages keep their order. */
  private inbound: Promise<void> = Promise.resolve();
  /** Whether `raw` is corked until the end of this tick. */
  private corked = false;
  /** Whether the last ping was answered; only a pong to a ping counts. */
  private alive = true;
  /** The payload of the ping waiting for its pong: a pong must echo it to count. */
  private pinged: Buffer | undefined;
  /** Closes the socket when its token expires. */
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: WebSocket,
    /** The TCP socket under it: events sent in one tick leave in one write. */
    private readonly raw: Duplex,
    /** The newest token's claims (a `refresh` replaces them). */
    public launch: LaunchContext,
    /** The wire format: this runtime's, or the Python runtime's `chat.*` envelopes. */
    readonly dialect: Dialect,
    logger: Logger,
    private readonly settings: ConnectionSettings,
  ) {
    this.tenant = { app_id: launch.app_id, user_id: launch.user_id };
    this.remote = (raw as { remoteAddress?: string }).remoteAddress;
    this.log = logger.child({
      app_id: launch.app_id,
      user_id: launch.user_id,
      workflow_id: launch.workflow_id,
      chat_id: launch.chat_id,
    });
    socket.on('pong', (data) => {
      // Only the echo of the ping counts: unsolicited pongs prove nothing about a peer that does not read.
      if (!this.pinged || !data.equals(this.pinged)) return;
      this.pinged = undefined;
      this.alive = true;
    });
    this.watchExpiry();
  }

  /** Runs `work` after what is queued for this socket; a failure closes it (the client resumes). */
  enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => this.deliveryFailed(error));
  }

  /** The queue as it stands now (what a new chat's first message waits behind). */
  get queued(): Promise<void> {
    return this.queue;
  }

  /** Handles a client frame after the ones before it. */
  receive(handle: () => Promise<void>): void {
    this.inbound = this.inbound.then(handle).catch((error: unknown) => {
      this.log.error({ error: errorMessage(error) }, 'could not handle a client message');
    });
  }

  /** Sends a live event in `seq` order: repeats are dropped, and a gap is filled from the store first. */
  async deliver(event: ServerEvent): Promise<void> {
    if (event.seq === undefined) return this.send(event);
    if (event.seq <= this.lastSeq) return;
    if (event.seq > this.lastSeq + 1) await this.replay(this.lastSeq, event.seq - 1);
    this.send(event);
    this.lastSeq = Math.max(this.lastSeq, event.seq);
  }

  /** Replays from `from`, which must not lie beyond the chat's newest event. */
  async resume(from: number, newest?: number): Promise<void> {
    const latest = newest ?? (await this.settings.log.getChat(this.tenant, this.launch.chat_id))?.last_seq ?? 0;
    if (from > latest) {
      // A client that counts wrong would otherwise wait in silence for events it will never get.
      const message = `last_seq ${from} is beyond the chat's newest event (${latest}); resume from ${latest} or less`;
      this.reject(ErrorCode.InvalidMessage, message);
      return;
    }
    await this.replay(from);
  }

  /** Reads back everything after the last event sent (what the bus lost while it was away). */
  resync(): void {
    this.enqueue(() => this.replay(this.lastSeq));
  }

  /**
   * Sends the persisted events after `afterSeq` (up to `upTo`) that this socket has not had, a page
   * at a time, reading the next page only once the socket has taken the last one in.
   */
  private async replay(afterSeq: number, upTo = Infinity): Promise<void> {
    this.lastSeq = afterSeq;
    for (;;) {
      if (!(await this.drained())) return;
      const page = await this.settings.log.listEvents(this.tenant, this.launch.chat_id, this.lastSeq, REPLAY_PAGE);
      for (const event of page) {
        if (event.seq! > upTo || this.socket.readyState !== WebSocket.OPEN) return;
        this.send(event);
        this.lastSeq = event.seq!;
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }

  /**
   * Waits until the socket holds less than a quarter of its buffer limit; false once it is closed
   * (or was closed for not draining in time).
   */
  private async drained(): Promise<boolean> {
    const low = this.settings.maxBufferedBytes / 4;
    const deadline = Date.now() + this.settings.drainTimeoutMs;
    while (this.socket.readyState === WebSocket.OPEN && this.socket.bufferedAmount > low) {
      if (Date.now() > deadline) {
        this.closeSlow();
        return false;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends an event, unless the socket holds more than its limit already: then it is closed (4008). */
  send(event: ServerEvent): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > this.settings.maxBufferedBytes) return this.closeSlow();
    // A step's events come together (a reply, the run's end, its usage): one write to the client,
    // not one each. Corked until the tick's microtasks are done, which adds no wait.
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      setImmediate(() => {
        this.corked = false;
        this.raw.uncork();
      });
    }
    const frame = this.dialect.render(event);
    if (frame !== undefined) this.socket.send(frame);
  }

  /** Tells the client its frame was refused (an `error` event without `seq`: it changed nothing). */
  reject(code: ErrorEvent['code'], message: string, retryable = false, retryAfterMs?: number): void {
    this.log.info({ code, problem: message }, 'client message refused');
    const event: ErrorEvent = {
      type: 'error',
      chat_id: this.launch.chat_id,
      event_id: newEventId(),
      timestamp: new Date().toISOString(),
      code,
      message,
      retryable,
      ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }),
    };
    this.send(event);
  }

  /** Closes a socket whose client does not read: it resumes with `last_seq` when it connects again. */
  closeSlow(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const limit = this.settings.maxBufferedBytes;
    this.log.warn({ buffered_bytes: this.socket.bufferedAmount, limit }, 'client reads too slowly; closing its socket');
    this.socket.close(CloseCode.SlowConsumer, 'reading too slowly; reconnect with last_seq');
    // The close frame waits behind what the client did not read: do not wait for it.
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  /** Takes a newer token for the same chat: custom claims and max_tokens follow it, as does the expiry. */
  refreshed(fresh: LaunchContext): void {
    this.launch = fresh;
    this.watchExpiry();
  }

  /** One heartbeat: a peer that did not answer the last ping is dropped (told 4008 when it had unread events), else pinged. */
  heartbeat(): void {
    if (!this.alive) {
      // A peer with unread events behind the ping never saw it: it reads too slowly (or is gone),
      // and is told so in the one way that does not wait on it.
      if (this.socket.bufferedAmount > 0 && this.socket.readyState === WebSocket.OPEN) this.closeSlow();
      else this.socket.terminate();
      return;
    }
    this.alive = false;
    this.pinged = randomBytes(8);
    this.socket.ping(this.pinged);
  }

  /** The socket closed: its timers and subscription end. */
  closed(): void {
    clearTimeout(this.expiry);
    void this.subscription?.unsubscribe();
  }

  /** Closes the socket (4001) when its token expires, as the handshake would have refused it. */
  private watchExpiry(): void {
    clearTimeout(this.expiry);
    const at = this.launch.expires_at * 1000 + this.settings.tokenLeewayMs;
    // Timers run at most ~24.8 days ahead; a later expiry is looked at again then.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.expiry = setTimeout(() => {
      if (Date.now() < at) return this.watchExpiry();
      this.reject(ErrorCode.TokenExpired, 'the launch token expired; connect again with a new token and last_seq');
      this.socket.close(CloseCode.TokenExpired, 'token expired');
    }, delay);
    this.expiry.unref();
  }

  private deliveryFailed(error: unknown): void {
    // The socket can no longer promise a gap-free stream: the client reconnects with its last seq.
    this.log.error({ error: errorMessage(error) }, 'could not deliver chat events');
    this.socket.close(CloseCode.InternalError, 'event delivery failed; reconnect with last_seq');
  }
}
