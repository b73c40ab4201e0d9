// The chat lease, shared by both ports: the inbox hands it out, the log's writer is fenced by it.
import type { Tenant } from '@mozaiks/protocol';

/**
 * The right to write a chat. `epoch` grows with every acquisition: a write carrying an older epoch
 * than the chat's current one is refused (fencing).
 */
export interface Lease {
  readonly tenant: Tenant;
  readonly chatId: string;
  readonly holder: string;
  readonly epoch: number;
  /** The previous holder's lease expired without being released: its writes must be fenced. */
  readonly takeover: boolean;
  /** The highest finished input its previous holder reported on release (a lower bound). */
  readonly inputsDone: number;
  /**
   * The log position its previous holder reported on release (0 after a takeover or for a chat
   * never released): a read of the log made before this lease was taken is complete if it reached it.
   */
  readonly position: number;
}

/** What a holder reports when it gives a chat up, for the next holder. */
export interface LeaseProgress {
  /** Highest input whose run finished. */
  inputsDone: number;
  /** The log's position after the holder's last step (`ChatWriter.position`). */
  position: number;
}

/** The writer's lease was taken over by another holder: its write was refused, and nothing of it stored. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  readonly retryable = true;
  constructor(lease: Lease, options?: { cause?: unknown }) {
    super(
      `lease of chat ${lease.chatId} (epoch ${lease.epoch}, holder ${lease.holder}) was taken over; write refused`,
      options,
    );
  }
}
