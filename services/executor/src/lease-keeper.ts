// The leases of the chats an executor serves, renewed together: a store write per batch of
// chats every third of the lease time, not a timer and a write per chat.
import type { ChatInbox, Lease } from '@mozaiks/store';

/** Leases renewed together in batches of this many (one store write each). */
const RENEW_BATCH = 500;

/**
 * Renews every lease an executor holds, all at once every third of the lease time: a store write
 * per batch of chats, not a timer and a write per chat.
 */
export class LeaseKeeper {
  /** Held leases, each with what stops its run when it turns out to be lost. */
  private readonly held = new Map<Lease, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private stopping = false;

  constructor(
    private readonly inbox: ChatInbox,
    private readonly leaseMs: number,
  ) {}

  /** Keeps `lease` renewed until the returned function is called; `lost` is called if it is taken over. */
  hold(lease: Lease, lost: () => void): () => void {
    this.held.set(lease, lost);
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.leaseMs / 3))).unref();
    return () => {
      this.held.delete(lease);
      if (this.held.size === 0 && this.stopping) this.stopTimer();
    };
  }

  /** Stops the timer once no lease is held (the executor is stopping). */
  stopWhenIdle(): void {
    this.stopping = true;
    if (this.held.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renewAll(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const leases = [...this.held.keys()];
      for (let i = 0; i < leases.length; i += RENEW_BATCH) {
        const batch = leases.slice(i, i + RENEW_BATCH);
        // A store that cannot be reached: the leases run out by themselves, and the writes they fence fail.
        const renewed = await this.inbox.renew(batch, this.leaseMs).catch(() => undefined);
        renewed?.forEach((ok, j) => {
          if (!ok) this.held.get(batch[j]!)?.();
        });
      }
    } finally {
      this.renewing = false;
    }
  }
}
