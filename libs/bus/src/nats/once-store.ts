// `once` on NATS: a JetStream key-value bucket where the first caller of a key claims it (an
// atomic create-if-absent, with a claim of its own), runs the work and stores its result; a later
// caller with the key, in any process, waits for that result instead of running the work again.
// Every step survives a nats-server restart.
import { JetStreamApiCodes, JetStreamApiError, StorageType, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { nuid } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { BusError } from '../bus.js';
import type { ConnectionStatus } from './connection-status.js';
import { errorMessage } from '@mozaiks/common';

/** Largest result `once` keeps for repeated calls (a NATS message carries about 1 MiB). */
const ONCE_MAX_BYTES = 900 * 1024;
/** Marks a `once` result too large to keep. */
const TOO_LARGE = '__mozaiks_once_too_large__';
/** What `once` stores while the first call runs (followed by the claim's own id). */
const RUNNING = 'running';
/** How long `once` keeps trying to claim a call while JetStream is away. */
const ONCE_CLAIM_PATIENCE_MS = 15_000;
/** Time one key-value operation of `once` may take before it is tried again. */
const ONCE_OPERATION_TIMEOUT_MS = 2000;

export class OnceStore {
  private onceStore: Promise<KV> | undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly status: ConnectionStatus,
    /** The key-value bucket that keeps the results. */
    private readonly bucket: string,
  ) {}

  /**
   * `once` on a JetStream key-value bucket: the first caller creates the key (an atomic
   * create-if-absent) with a claim of its own, runs the work and stores its result; others poll for
   * it. Every step survives a nats-server restart: the claim is tried again while JetStream is
   * away, and the result is stored once the connection is back.
   */
  async once<T>(key: string, work: () => Promise<T>, options: { ttlMs: number; waitMs: number }): Promise<T> {
    // Keys are a hash: callers' keys may hold characters the bucket does not allow.
    const id = createHash('sha256').update(key).digest('base64url');
    const { kv, mine } = await this.claimOnce(
      id,
      options.ttlMs,
      Date.now() + Math.min(options.waitMs, ONCE_CLAIM_PATIENCE_MS),
    );
    if (!mine) return this.awaitOnce<T>(kv, id, options.waitMs);
    const result = await work();
    const text = JSON.stringify(result ?? null);
    const kept =
      Buffer.byteLength(text) <= ONCE_MAX_BYTES ? text : JSON.stringify({ [TOO_LARGE]: Buffer.byteLength(text) });
    // A repeated call waits for this result: one that finished while NATS was away is kept once it
    // is back. The caller has its result at once then; else once it is stored (or a moment has passed).
    const keeping = this.keepOnce(kv, id, kept, Date.now() + options.waitMs);
    if (this.status.up)
      await Promise.race([keeping, new Promise((r) => setTimeout(r, ONCE_OPERATION_TIMEOUT_MS).unref())]);
    return result;
  }

  /**
   * Claims `id` for this call. `mine` is false when another call holds it; a claim whose answer
   * was lost with the connection is recognised as this call's own by its unique value.
   */
  private async claimOnce(id: string, ttlMs: number, deadline: number): Promise<{ kv: KV; mine: boolean }> {
    const claim = `${RUNNING}:${nuid.next()}`;
    for (let attempt = 0; ; attempt++) {
      let kv: KV | undefined;
      try {
        kv = await this.onceBucket(ttlMs);
        await kv.create(id, claim);
        return { kv, mine: true };
      } catch (error) {
        const taken =
          error instanceof JetStreamApiError &&
          (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
            error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
        const holder = taken && kv ? await kv.get(id).catch(() => undefined) : undefined;
        if (kv && holder) return { kv, mine: holder.string() === claim };
        if (Date.now() >= deadline || this.connection.isClosed()) {
          throw new BusError('closed', `could not claim the call: ${errorMessage(error)}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
  }

  /** The bucket of `once`'s results, opened once; a failed open is tried again by the next call. */
  private onceBucket(ttlMs: number): Promise<KV> {
    if (!this.onceStore) {
      // Short operations: one whose answer was lost with the connection is tried again soon.
      const kvm = new Kvm(jetstream(this.connection, { timeout: ONCE_OPERATION_TIMEOUT_MS }));
      const opening = kvm.create(this.bucket, {
        history: 1,
        ttl: ttlMs,
        storage: StorageType.File,
      });
      this.onceStore = opening;
      opening.catch(() => {
        if (this.onceStore === opening) this.onceStore = undefined;
      });
    }
    return this.onceStore;
  }

  /**
   * Stores a `once` result, until `until`: while the connection is away it waits for it, and a
   * write in flight when the connection drops (its answer lost) is sent again once it is back.
   */
  private async keepOnce(kv: KV, id: string, text: string, until: number): Promise<void> {
    while (Date.now() < until && !this.connection.isClosed()) {
      let stop: () => void = () => undefined;
      const back = new Promise<'back'>((resolve) => (stop = this.status.onReconnect(() => resolve('back'))));
      try {
        if (!this.status.up) {
          await Promise.race([back, new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
          continue;
        }
        if ((await Promise.race([kv.put(id, text).then(() => 'stored' as const), back])) === 'stored') return;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        stop();
      }
    }
  }

  private async awaitOnce<T>(kv: KV, id: string, waitMs: number): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      // A read lost with the connection is only a poll missed.
      const entry = await kv.get(id).catch(() => null);
      const text = entry?.string();
      if (text !== undefined && !text.startsWith(RUNNING) && text !== '') {
        const value = JSON.parse(text) as T & { [TOO_LARGE]?: number };
        if (value && typeof value === 'object' && TOO_LARGE in value)
          throw new BusError(
            'remote_error',
            `the first call's result (${value[TOO_LARGE]} bytes) is too large to keep for a repeated call`,
          );
        return value;
      }
      if (Date.now() > deadline)
        throw new BusError('timeout', `the first call with this key did not finish within ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
