// A WebSocket client for tests: connects as a browser would, records every event, and waits for
// the ones a test expects.
import { WebSocket } from 'ws';

export type TestEvent = Record<string, unknown> & { type: string };

export class WsTestClient {
  /** Every event received except streamed text, which goes to `deltas`. */
  readonly events: TestEvent[] = [];
  /** `agent_message_delta` events, in order. */
  readonly deltas: TestEvent[] = [];
  /** Every frame received, as its text. */
  readonly frames: string[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(data.toString());
      const event = JSON.parse(this.frames.at(-1)!) as TestEvent;
      (event.type === 'agent_message_delta' ? this.deltas : this.events).push(event);
      this.notify();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  /** Opens a socket; rejects with the HTTP status and body if the handshake is refused. */
  static connect(url: string, options: { headers?: Record<string, string> } = {}): Promise<WsTestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options.headers ? { headers: options.headers } : {});
      socket.once('open', () => resolve(new WsTestClient(socket)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, body)));
      });
      socket.once('error', (error) => reject(error));
    });
  }

  /** The handshake's HTTP status and body: 101 when it was accepted (and the socket is closed again). */
  static async handshakeStatus(
    url: string,
    options: { headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: string }> {
    try {
      const client = await WsTestClient.connect(url, options);
      await client.close();
      return { status: 101, body: '' };
    } catch (error) {
      if (error instanceof HandshakeRefused) return { status: error.status, body: error.body };
      throw error;
    }
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first recorded event (from `from` on) that matches, or rejects after `timeoutMs`. */
  async waitFor(
    predicate: (e: TestEvent) => boolean,
    options: { timeoutMs?: number; from?: number } = {},
  ): Promise<TestEvent> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(options.from ?? 0).find(predicate);
      if (found) return found;
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode}) before the expected event; got: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for an event; got: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until `count` pieces of streamed text have come. */
  async waitForDeltas(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.deltas.length < count) {
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode}) before ${count} deltas came`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} deltas; got ${this.deltas.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Waits for an event of `type` (from `from` on). */
  waitForType(type: string, options: { timeoutMs?: number; from?: number } = {}): Promise<TestEvent> {
    return this.waitFor((e) => e.type === type, options);
  }

  /** Sends a user message and returns every event up to and including its `usage_update`. */
  async exchange(content: string, extra: Record<string, unknown> = {}): Promise<TestEvent[]> {
    const from = this.events.length;
    this.send({ type: 'user_message', content, ...extra });
    await this.waitForType('usage_update', { from });
    return this.events.slice(from);
  }

  /** Waits for the socket to close and returns the close code. */
  async closed(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.closeCode;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const done = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close(1000);
    await done;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private describe(): string {
    return JSON.stringify(
      this.events.map((e) => (e.type === 'error' ? `error:${String(e.code)}:${String(e.message)}` : e.type)),
    );
  }
}

export class HandshakeRefused extends Error {
  override name = 'HandshakeRefused';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused with HTTP ${status}: ${body}`);
  }
}
