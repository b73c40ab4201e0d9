// The in-process Bus: same semantics as the NATS adapter (wildcards, queue groups, request/reply,
// redelivery of unacknowledged work), for the standalone runtime and tests.
import { BusError, DEFAULT_CONSUME_CONCURRENCY, RetryLaterError, subjectMatches } from './bus.js';
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
  /** Subscriptions to one exact subject, by subject: most of them (a chat's events, its controls). */
  private exact = new Map<string, Set<Sub>>();
  /** Subscriptions with wildcards, matched against every subject. */
  private patterns = new Set<Sub>();
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
      // Ids are kept in the order they came: the expired ones are at the front.
      for (const [id, at] of this.dedupe) {
        if (now - at <= 120_000) break;
        this.dedupe.delete(id);
      }
      if (this.dedupe.has(options.msgId)) return;
      this.dedupe.set(options.msgId, now);
    }
    this.route({ subject, data: copy(data), headers: { ...options.headers } });
  }

  subscribe<T>(
    subject: string,
    handler: (message: BusMessage<T>) => void | Promise<void>,
    options: { queue?: string } = {},
  ): Subscription {
    return this.add(subject, options.queue, (message) => this.track(subject, () => handler(message as BusMessage<T>)));
  }

  serve<T, R>(
    subject: string,
    handler: (message: BusMessage<T>) => Promise<R>,
    options: { queue?: string } = {},
  ): Subscription {
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
      const timer = setTimeout(
        () => reject(new BusError('timeout', `request to ${subject} timed out after ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      const reply = (outcome: { ok: boolean; value: unknown }) => {
        clearTimeout(timer);
        if (outcome.ok) resolve(outcome.value as R);
        else
          reject(
            new BusError(
              'remote_error',
              `request to ${subject} failed: ${(outcome.value as Error)?.message ?? outcome.value}`,
              { cause: outcome.value },
            ),
          );
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
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONSUME_CONCURRENCY);
    let active = 0;
    // Deliveries beyond the limit wait here, in order, for a slot.
    const waiting: Array<() => void> = [];
    const slot = async (): Promise<void> => {
      if (active < limit) {
        active++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    };
    // A freed slot passes straight to the next waiter.
    const free = (): void => {
      const next = waiting.shift();
      if (next) next();
      else active--;
    };
    const attempt = (message: BusMessage, n: number): void => {
      this.track(subject, async () => {
        await slot();
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
        } finally {
          free();
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
  private onceSwept = 0;

  async once<T>(key: string, work: () => Promise<T>, options: { ttlMs: number; waitMs: number }): Promise<T> {
    const now = Date.now();
    // Expired results are swept at most once a second, not on every call.
    if (now - this.onceSwept >= 1000) {
      this.onceSwept = now;
      for (const [k, v] of this.onceResults) if (v.expires <= now) this.onceResults.delete(k);
    }
    const known = this.onceResults.get(key);
    if (known && known.expires > now) return known.result as Promise<T>;
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
    this.exact.clear();
    this.patterns.clear();
  }

  /** Delivers to every plain subscriber and one member of each queue group; returns how many. */
  private route(message: BusMessage): number {
    const groups = new Map<string, Sub[]>();
    let count = 0;
    const candidates = [
      ...(this.exact.get(message.subject) ?? []),
      ...[...this.patterns].filter((sub) => subjectMatches(sub.pattern, message.subject)),
    ];
    for (const sub of candidates) {
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
    let subscribed = true;
    const sub: Sub = { pattern, queue, deliver: (m) => queueMicrotask(() => subscribed && deliver(m)) };
    const wild = pattern.includes('*') || pattern.includes('>');
    if (wild) this.patterns.add(sub);
    else {
      const set = this.exact.get(pattern) ?? new Set<Sub>();
      set.add(sub);
      this.exact.set(pattern, set);
    }
    return {
      unsubscribe: async () => {
        subscribed = false;
        if (wild) return void this.patterns.delete(sub);
        const set = this.exact.get(pattern);
        set?.delete(sub);
        if (set?.size === 0) this.exact.delete(pattern);
      },
    };
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
