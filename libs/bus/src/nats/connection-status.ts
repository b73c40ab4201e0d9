// Whether the NATS connection is up, and who wants to know when it comes back: what was sent
// while it was away may be lost, and a caller that must not lose it sends again.
import type { NatsConnection } from '@nats-io/transport-node';

export interface ConnectionEvent {
  type: 'disconnected' | 'reconnected';
  server: string;
}

export class ConnectionStatus {
  /** Whether the connection is up. */
  up = true;
  private readonly listeners = new Set<() => void>();

  /** Follows the connection's status for as long as it lives, telling `onStatus` of each change. */
  watch(connection: NatsConnection, onStatus?: (event: ConnectionEvent) => void): void {
    void (async () => {
      for await (const status of connection.status()) {
        const server = 'server' in status ? String(status.server) : '';
        if (status.type === 'disconnect') {
          this.up = false;
          onStatus?.({ type: 'disconnected', server });
        } else if (status.type === 'reconnect') {
          this.up = true;
          onStatus?.({ type: 'reconnected', server });
          for (const listener of [...this.listeners]) listener();
        }
      }
    })().catch(() => undefined);
  }

  /** Calls `listener` each time the connection is back; returns what stops the calls. */
  onReconnect(listener: () => void): () => void {
    const own = () => listener();
    this.listeners.add(own);
    return () => void this.listeners.delete(own);
  }

  /** A promise of the next reconnection, and what stops waiting for it. */
  nextReconnect(): { back: Promise<'back'>; stop: () => void } {
    let stop: () => void = () => undefined;
    const back = new Promise<'back'>((resolve) => (stop = this.onReconnect(() => resolve('back'))));
    return { back, stop };
  }
}
