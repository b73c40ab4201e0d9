// The sockets' heartbeat: every interval each connection is pinged, and one that did not answer
// the previous ping is dropped (a dead peer, or one whose unread events hid the ping: 4008).
import type { ChatConnection } from './chat-connection.js';

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connections: Iterable<ChatConnection>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      for (const c of this.connections) c.heartbeat();
    }, this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
