// The in-process Bus: same semantics as the NATS adapter (wildcards, queue groups, request/reply,
// redelivery of unacknowledged work), for the standalone runtime and tests.
import { BusError, RetryLaterError, subjectMatches } from './bus.js';
import type { Bus, BusMessage, ConsumeOptions, Headers, PublishOptions, Subscription, WorkHandler } from './bus.js';

interface Sub {
  pattern: string;
  queue: string | undefined;
  deliver(message: BusMessage): void;
}

export interface MemoryBusOptions {
  /** Called with errors thrown by handlers, which the bus otherwise swallows. */
  onError?: (error: unknown, subject: string) => void;
  /** Delay before unacknowledged work is delivered again. @default 200 */
  redeliveryDelayMs?: number;
}

export class MemoryBus implements Bus {
  private subs = new Set<Sub>();
  private inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private rotation = new Map<string, number>();
  private readonly dedupe = new Map<string, number>();

  constructor(private readonly options: MemoryBusOptions = {}) {}

  async publish(subject: string, data: unknown, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    if (options.msgId) {
      // Like a JetStream stream's duplicate window: the same id within it is stored once.
      const now = Date.now();
      for (const [id, at] of this.dedupe) if (now - at > 120_000) this.dedupe.delete(id);
      if (this.dedupe.has(options.msgId)) return;
      this.dedupe.set(options.msgId, now);
    }
    this.route({ subject, data: copy(data), headers: { ...options.headers } });
  }

  subscribe<T>(subject: string, handler: (message: BusMessage<T>) => void | Promise<void>, options: { queue?: string } = {}): Subscription {
    return this.add(subject, options.queue, (message) => this.track(subject, () => handler(message as BusMessage<T>)));
  }

  serve<T, R>(subject: string, handler: (message: BusMessage<T>) => Promise<R>, options: { queue?: string } = {}): Subscription {
    return this.add(subject, options.queue, (message) => {
      const reply = (message as BusMessage & { reply?: (outcome: { ok: boolean; value: unknown }) => void }).reply;
      this.track(subject, async () => {
        try {
          reply?.({ ok: true, value: copy(await handler(message as BusMessage<T>)) });
        } catch (error) {
          reply?.({ ok: false, value: error });
        }
      });
    });
  }

  async request<R>(subject: string, data: unknown, options: { timeoutMs: number; headers?: Headers }): Promise<R> {
    this.assertOpen();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BusError('timeout', `request to ${subject} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
      const reply = (outcome: { ok: boolean; value: unknown }) => {
        clearTimeout(timer);
        if (outcome.ok) resolve(outcome.value as R);
        else reject(new BusError('remote_error', `request to ${subject} failed: ${(outcome.value as Error)?.message ?? outcome.value}`, { cause: outcome.value }));
      };
      const delivered = this.route({ subject, data: copy(data), headers: { ...options.headers }, reply } as BusMessage);
      if (delivered === 0) {
        clearTimeout(timer);
        reject(new BusError('no_responders', `no service answers ${subject}`));
      }
    });
  }

  consume<T>(subject: string, group: string, handler: WorkHandler<T>, options: ConsumeOptions = {}): Subscription {
    const maxDeliver = options.maxDeliver ?? 5;
    const delay = this.options.redeliveryDelayMs ?? 200;
    const attempt = (message: BusMessage, n: number): void => {
      this.track(subject, async () => {
        try {
          await handler(message as BusMessage<T>, n);
        } catch (error) {
          if (this.closed) return;
          if (error instanceof RetryLaterError) {
            setTimeout(() => !this.closed && attempt(message, n + 1), error.delayMs).unref();
            return;
          }
          if (n >= maxDeliver) throw error;
          setTimeout(() => !this.closed && attempt(message, n + 1), delay * n).unref();
        }
      });
    };
    return this.add(subject, `work:${group}`, (message) => attempt(message, 1));
  }

  /** An in-process bus never loses its connection. */
  onReconnect(_listener: () => void): () => void {
    return () => undefined;
  }

  private readonly onceResults = new Map<string, { result: Promise<unknown>; expires: number }>();

  async once<T>(key: string, work: () => Promise<T>, options: { ttlMs: number; waitMs: number }): Promise<T> {
    const now = Date.now();
    for (const [k, v] of this.onceResults) if (v.expires <= now) this.onceResults.delete(k);
    const known = this.onceResults.get(key);
    if (known) return known.result as Promise<T>;
    const result = work();
    this.onceResults.set(key, { result, expires: now + options.ttlMs });
    return result;
  }

  /**
   * Lets every message already sent, and whatever its handlers send in turn, be handled; then
   * closes. Work finishing during a drain can still publish, as on a draining NATS connection.
   */
  async drain(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.inFlight.size === 0) break;
      await Promise.allSettled([...this.inFlight]);
    }
    this.closed = true;
    this.subs.clear();
  }

  /** Delivers to every plain subscriber and one member of each queue group; returns how many. */
  private route(message: BusMessage): number {
    const groups = new Map<string, Sub[]>();
    let count = 0;
    for (const sub of this.subs) {
      if (!subjectMatches(sub.pattern, message.subject)) continue;
      if (sub.queue === undefined) {
        sub.deliver(message);
        count++;
      } else {
        const key = `${sub.pattern}\u0000${sub.queue}`;
        groups.set(key, [...(groups.get(key) ?? []), sub]);
      }
    }
    for (const [key, members] of groups) {
      const next = (this.rotation.get(key) ?? 0) % members.length;
      this.rotation.set(key, next + 1);
      members[next]!.deliver(message);
      count++;
    }
    return count;
  }

  private add(pattern: string, queue: string | undefined, deliver: (message: BusMessage) => void): Subscription {
    this.assertOpen();
    // Delivery is asynchronous, as over a network, but keeps each subscriber's order.
    const sub: Sub = { pattern, queue, deliver: (m) => queueMicrotask(() => this.subs.has(sub) && deliver(m)) };
    this.subs.add(sub);
    return { unsubscribe: async () => void this.subs.delete(sub) };
  }

  private track(subject: string, work: () => void | Promise<void>): void {
    const p = (async () => work())().catch((error: unknown) => this.options.onError?.(error, subject));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('closed', 'bus is closed');
  }
}

function copy<T>(data: T): T {
  return data === undefined ? data : (JSON.parse(JSON.stringify(data)) as T);
}
