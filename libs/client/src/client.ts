// A client of one chat: typed events, the user's messages and answers, cancel, and reconnects that
// resume after the last `seq` received, so no event is missed or repeated across a drop or an
// instance's restart. Runs in browsers (their WebSocket) and in Node (`ws`, or its global
// WebSocket when it has one). Imports nothing Node-only.
import type { ServerEvent } from '@mozaiks/protocol';

/** What the client needs of a WebSocket: the browser's, `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectOptions {
  /** The socket's address, `wss://host/ws/chat`; the token and `last_seq` are added to it. */
  url: string;
  /** The launch token. With `getToken` only, the first token comes from it. */
  token?: string;
  /** A fresh launch token: asked before the current one expires (sent as `refresh`) and for a reconnect after `4001`. */
  getToken?: () => string | Promise<string>;
  /** Resume after this `seq` (0: the chat's whole history); unset, start at the chat's present. */
  lastSeq?: number;
  /** The WebSocket to use; the platform's by default, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Waits between reconnect attempts: from `initialDelayMs` doubling to `maxDelayMs`, jittered; `1012` reconnects at once. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /** How long before the token's expiry a new one is asked for. @default 60000 */
  refreshBeforeMs?: number;
  /** How long a socket may take to open before the attempt is given up (and tried again). @default 10000 */
  openTimeoutMs?: number;
}

/** The client stopped for a reason it cannot mend: a refused or expired token with no `getToken`, too many failed reconnects. */
export class MozaiksClientError extends Error {
  override name = 'MozaiksClientError';
  constructor(
    readonly code: 'unauthorized' | 'token_expired' | 'unreachable' | 'closed',
    message: string,
  ) {
    super(message);
  }
}

type Handler = (event: ServerEvent) => void;
type Listener = { type: ServerEvent['type'] | '*'; handler: Handler };

const OPEN = 1;

/** The `exp` of a JWT, in ms since the epoch; undefined when it has none or cannot be read. */
function expiryOf(token: string): number | undefined {
  try {
    const payload = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), '='))) as {
      exp?: unknown;
    };
    return typeof json.exp === 'number' ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

async function platformWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  // Node without a global WebSocket: the `ws` package.
  const ws = (await import('ws')) as unknown as { WebSocket: WebSocketConstructor; default?: WebSocketConstructor };
  return ws.WebSocket ?? ws.default!;
}

export class MozaiksClient implements AsyncIterable<ServerEvent> {
  /** The highest `seq` received: a reconnect resumes after it. */
  lastSeq: number | undefined;
  state: ConnectionState = 'connecting';
  /** Why the client closed, when it did not close on its own. */
  error: MozaiksClientError | undefined;

  private socket: WebSocketLike | undefined;
  private token: string | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly outbox: string[] = [];
  /** The open iterations, each with the events it has not taken yet: none are kept when nobody iterates. */
  private readonly iterators = new Set<{ queue: ServerEvent[]; wake: (() => void) | undefined }>();
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  /** Whether any socket of this client opened. */
  private everOpened = false;
  /** The body of the last refused handshake (401), when the platform tells it. */
  private refused: string | undefined;

  private constructor(
    private readonly options: ConnectOptions,
    private readonly Socket: WebSocketConstructor,
  ) {
    this.lastSeq = options.lastSeq;
  }

  /** Opens the chat's socket; resolves once it is open. */
  static async connect(options: ConnectOptions): Promise<MozaiksClient> {
    const client = new MozaiksClient(options, options.WebSocket ?? (await platformWebSocket()));
    client.token = options.token ?? (options.getToken ? await options.getToken() : undefined);
    if (!client.token) throw new MozaiksClientError('unauthorized', 'connect needs a token or getToken');
    await new Promise<void>((resolve, reject) => {
      const off = client.onState((state) => {
        if (state === 'open') {
          off();
          resolve();
        }
        if (state === 'closed') {
          off();
          reject(client.error ?? new MozaiksClientError('closed', 'the socket closed before it opened'));
        }
      });
      client.open();
    });
    return client;
  }

  /** Calls `handler` for each event of `type` (`*`: every event); returns what stops it. */
  on<T extends ServerEvent['type']>(
    type: T | '*',
    handler: (event: Extract<ServerEvent, { type: T }>) => void,
  ): () => void {
    const listener = { type, handler: handler as Handler };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` on each change of the connection's state. */
  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Every event from now on, in order, each once, until the client closes. */
  [Symbol.asyncIterator](): AsyncIterator<ServerEvent> {
    const me: { queue: ServerEvent[]; wake: (() => void) | undefined } = { queue: [], wake: undefined };
    this.iterators.add(me);
    const end = (): IteratorResult<ServerEvent> => (this.iterators.delete(me), { done: true, value: undefined });
    return {
      next: async () => {
        for (;;) {
          const event = me.queue.shift();
          if (event) return { done: false, value: event };
          if (this.state === 'closed') return end();
          await new Promise<void>((resolve) => (me.wake = resolve));
        }
      },
      return: async () => end(),
    };
  }

  /** The first event from now on that `predicate` accepts. */
  waitFor<T extends ServerEvent = ServerEvent>(
    predicate: (event: ServerEvent) => event is T,
    timeoutMs?: number,
  ): Promise<T>;
  waitFor(predicate: (event: ServerEvent) => boolean, timeoutMs?: number): Promise<ServerEvent>;
  waitFor(predicate: (event: ServerEvent) => boolean, timeoutMs = 60_000): Promise<ServerEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error(`no matching event within ${timeoutMs} ms`))), timeoutMs);
      const off = this.on('*', (event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
    });
  }

  /** Sends the user's message; while the socket is away it waits and goes when it is back. */
  send(content: string): void {
    this.write({ type: 'user_message', content });
  }

  /** Answers an `input_request`. */
  answer(requestId: string, content: string): void {
    this.write({ type: 'user_input', request_id: requestId, content });
  }

  /** Answers a `ui_tool` with what the user did in its component. */
  uiToolResponse(toolCallId: string, response: Record<string, unknown>): void {
    this.write({ type: 'ui_tool_response', tool_call_id: toolCallId, response });
  }

  /** Cancels the chat's run (or the one named). */
  cancel(runId?: string): void {
    this.write({ type: 'cancel', ...(runId ? { run_id: runId } : {}) });
  }

  /** Closes the socket for good. */
  close(): void {
    this.closing = true;
    clearTimeout(this.timer);
    clearTimeout(this.refreshTimer);
    this.socket?.close(1000, 'client closed');
    this.setState('closed');
  }

  private write(message: Record<string, unknown>): void {
    if (this.state === 'closed') throw new MozaiksClientError('closed', 'the client is closed');
    const frame = JSON.stringify(message);
    if (this.socket?.readyState === OPEN && this.state === 'open') this.socket.send(frame);
    else this.outbox.push(frame);
  }

  private url(): string {
    const url = new URL(this.options.url);
    url.searchParams.set('token', this.token!);
    if (this.lastSeq !== undefined) url.searchParams.set('last_seq', String(this.lastSeq));
    return url.toString();
  }

  private open(): void {
    const socket = new this.Socket(this.url());
    this.socket = socket;
    this.refused = undefined;
    // `ws` (Node) reports a refused handshake's HTTP answer; a browser's WebSocket does not.
    const emitter = socket as unknown as {
      on?: (
        event: string,
        listener: (req: unknown, res: { statusCode?: number; on(e: string, l: (c: unknown) => void): void }) => void,
      ) => void;
    };
    emitter.on?.('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => {
        if (res.statusCode === 401) this.refused = body || '401';
        // Handled here, the handshake is ended here: the socket then closes (1006).
        socket.close();
      });
    });
    let opened = false;
    // A handshake nobody answers (an instance stopping as it was accepted) is given up.
    const openTimer = setTimeout(() => socket.close(), this.options.openTimeoutMs ?? 10_000);
    socket.onopen = () => {
      clearTimeout(openTimer);
      opened = true;
      this.everOpened = true;
      this.attempts = 0;
      this.setState('open');
      for (const frame of this.outbox.splice(0)) socket.send(frame);
      this.scheduleRefresh();
    };
    socket.onmessage = ({ data }) => this.receive(String(data));
    socket.onerror = () => undefined;
    socket.onclose = ({ code, reason }) => {
      clearTimeout(openTimer);
      if (this.socket !== socket) return;
      clearTimeout(this.refreshTimer);
      if (this.closing) return this.setState('closed');
      void this.reconnectAfter(code, reason, opened);
    };
  }

  private receive(frame: string): void {
    let event: ServerEvent;
    try {
      event = JSON.parse(frame) as ServerEvent;
    } catch {
      return;
    }
    // A persisted event comes once: what a resume repeats is dropped.
    if (event.seq !== undefined) {
      if (this.lastSeq !== undefined && event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
    }
    if (event.type === 'token_refreshed') this.scheduleRefresh(Date.parse(event.expires_at));
    for (const it of this.iterators) {
      it.queue.push(event);
      this.wakeUp(it);
    }
    for (const l of [...this.listeners]) if (l.type === '*' || l.type === event.type) l.handler(event);
  }

  private async reconnectAfter(code: number, reason: string, opened: boolean): Promise<void> {
    const { getToken } = this.options;
    // The handshake was answered 401 (Node tells; browsers cannot): only another token helps.
    if (this.refused && !getToken)
      return this.fail('unauthorized', `the runtime refused the launch token: ${this.refused}`);
    // Never opened at all: the address or the token is wrong, not the network of a moment.
    if (!this.everOpened)
      return this.fail(
        this.refused ? 'unauthorized' : 'unreachable',
        this.refused
          ? `the runtime refused the launch token: ${this.refused}`
          : `could not open ${this.options.url} (closed with ${code}${reason ? ` ${reason}` : ''})`,
      );
    if (code === 4001 && !getToken)
      return this.fail('token_expired', 'the launch token expired; pass getToken to renew it');
    if (code === 4001 || this.refused || (!opened && getToken)) {
      try {
        this.token = await getToken!();
      } catch (error) {
        return this.fail('unauthorized', `getToken failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const { initialDelayMs = 250, maxDelayMs = 10_000, maxAttempts = Infinity } = this.options.reconnect ?? {};
    if (++this.attempts > maxAttempts)
      return this.fail('unreachable', `could not reconnect after ${maxAttempts} attempts (last close ${code})`);
    this.setState('reconnecting');
    // A restarting instance asks for a reconnect at once (1012), to any other.
    const delay =
      code === 1012 && this.attempts === 1
        ? 0
        : Math.random() * Math.min(maxDelayMs, initialDelayMs * 2 ** (this.attempts - 1));
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Asks for a new token before this one expires and sends it as a `refresh`. */
  private scheduleRefresh(expiresAt = expiryOf(this.token ?? '')): void {
    clearTimeout(this.refreshTimer);
    const { getToken, refreshBeforeMs = 60_000 } = this.options;
    if (!getToken || expiresAt === undefined) return;
    const wait = Math.max(0, expiresAt - refreshBeforeMs - Date.now());
    this.refreshTimer = setTimeout(
      () => {
        void Promise.resolve(getToken()).then(
          (token) => {
            this.token = token;
            if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify({ type: 'refresh', token }));
          },
          () => undefined,
        );
      },
      Math.min(wait, 2 ** 31 - 1),
    );
  }

  private fail(code: MozaiksClientError['code'], message: string): void {
    this.error = new MozaiksClientError(code, message);
    this.closing = true;
    this.setState('closed');
  }

  private wakeUp(it: { wake: (() => void) | undefined }): void {
    const wake = it.wake;
    it.wake = undefined;
    wake?.();
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    if (state === 'closed') for (const it of this.iterators) this.wakeUp(it);
    for (const l of [...this.stateListeners]) l(state);
  }
}

/** Opens a client for the chat of the token. */
export function connect(options: ConnectOptions): Promise<MozaiksClient> {
  return MozaiksClient.connect(options);
}
