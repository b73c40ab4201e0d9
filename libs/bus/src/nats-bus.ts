// The Bus on NATS: core pub/sub and request/reply for live traffic, JetStream streams for work
// and usage that must survive a crash. Streams and consumers are created idempotently at connect.
import { createHash } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { connect, errors, headers as natsHeaders, nuid } from '@nats-io/transport-node';
import type { Msg, MsgHdrs, NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { BusError, DEFAULT_CONSUME_CONCURRENCY, RetryLaterError, subjectMatches } from './bus.js';
import type { Bus, BusMessage, ConsumeOptions, Headers, PublishOptions, Subscription, WorkHandler } from './bus.js';
import { subjects } from '@mozaiks/protocol';
import type { StreamSpec } from '@mozaiks/protocol';

/** Header carrying the version of the payload's shape. */
export const VERSION_HEADER = 'Mozaiks-Version';
/** Header carrying the message's id (JetStream de-duplicates on Nats-Msg-Id as well). */
export const MESSAGE_ID_HEADER = 'Mozaiks-Msg-Id';
/** Header on a reply whose handler failed, with its message. */
const ERROR_HEADER = 'Mozaiks-Error';
/** Marks a `once` result too large to keep. */
const TOO_LARGE = '__mozaiks_once_too_large__';

export interface NatsBusOptions {
  /** NATS URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name, shown in the server's monitoring. */
  name: string;
  /** Streams to keep: the protocol's `subjects(prefix).streams`. */
  streams: StreamSpec[];
  /** Time a consumer has to acknowledge before the message goes to another; long handlers extend it. @default 30000 */
  ackWaitMs?: number;
  /** Key-value bucket that keeps the results of `once`. @default 'MOZAIKS_ONCE' */
  onceBucket?: string;
  onError?: (error: unknown, subject: string) => void;
  /** Told when the connection is lost and when it is back. */
  onStatus?: (status: { type: 'disconnected' | 'reconnected'; server: string }) => void;
  /** Fail at once when no server answers, instead of waiting for one (operators' commands). */
  failFast?: boolean;
}

/** Largest result `once` keeps for repeated calls (a NATS message carries about 1 MiB). */
const ONCE_MAX_BYTES = 900 * 1024;
/** What `once` stores while the first call runs (followed by the claim's own id). */
const RUNNING = 'running';
/** How long a durable publish waits for the stream's acknowledgement, across reconnects. */
const DURABLE_PUBLISH_TIMEOUT_MS = 10_000;
/** How long `once` keeps trying to claim a call while JetStream is away. */
const ONCE_CLAIM_PATIENCE_MS = 15_000;
/** Time one key-value operation of `once` may take before it is tried again. */
const ONCE_OPERATION_TIMEOUT_MS = 2000;
/**
 * Life of a consumer's pull request. The client checks the consumer again after a failed check
 * (JetStream still recovering after a restart) in about this long, and heartbeats come at half of it.
 */
const PULL_EXPIRES_MS = 2000;

const nanos = (ms: number) => ms * 1_000_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NatsBus implements Bus {
  private readonly subscriptions = new Set<NatsSubscription>();
  private readonly consumers = new Set<ConsumerMessages>();
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsBusOptions,
  ) {}

  /** Connects (retrying for ever on disconnects) and makes sure the streams exist as specified. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    // noAsyncTraces: a request does not build an Error (a stack trace) up front in case it fails;
    // failures are turned into BusErrors naming the subject anyway.
    const patient = !options.failFast;
    const nc = await connect({
      servers: options.servers,
      name: options.name,
      noAsyncTraces: true,
      reconnectTimeWait: 250,
      ...(patient
        ? { maxReconnectAttempts: -1, waitOnFirstConnect: true }
        : { maxReconnectAttempts: 0, timeout: 5000 }),
    });
    const jsm = await jetstreamManager(nc);
    for (const spec of options.streams) await ensureStream(jsm, spec);
    const bus = new NatsBus(nc, jetstream(nc), jsm, options);
    bus.watchStatus();
    return bus;
  }

  /** Whether the connection is up (for /ready). */
  get connected(): boolean {
    return this.up && !this.connection.isClosed() && !this.connection.isDraining();
  }

  private up = true;
  private readonly reconnectListeners = new Set<() => void>();

  onReconnect(listener: () => void): () => void {
    const own = () => listener();
    this.reconnectListeners.add(own);
    return () => void this.reconnectListeners.delete(own);
  }

  private watchStatus(): void {
    void (async () => {
      for await (const status of this.connection.status()) {
        const server = 'server' in status ? String(status.server) : '';
        if (status.type === 'disconnect') {
          this.up = false;
          this.options.onStatus?.({ type: 'disconnected', server });
        } else if (status.type === 'reconnect') {
          this.up = true;
          this.options.onStatus?.({ type: 'reconnected', server });
          for (const listener of [...this.reconnectListeners]) listener();
        }
      }
    })().catch(() => undefined);
  }

  private onceStore: Promise<KV> | undefined;

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
    if (this.up) await Promise.race([keeping, new Promise((r) => setTimeout(r, ONCE_OPERATION_TIMEOUT_MS).unref())]);
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
          throw new BusError(
            'closed',
            `could not claim the call: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
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
      const opening = kvm.create(this.options.onceBucket ?? 'MOZAIKS_ONCE', {
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
      const back = new Promise<'back'>((resolve) => (stop = this.onReconnect(() => resolve('back'))));
      try {
        if (!this.up) {
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

  async publish(subject: string, data: unknown, options: PublishOptions = {}): Promise<void> {
    // Durable messages always carry an id: the stream de-duplicates a publish sent again.
    const msgId = options.msgId ?? (this.durable(subject) ? nuid.next() : undefined);
    const hdrs = toNatsHeaders(options.headers, msgId);
    const payload = encoder.encode(JSON.stringify(data));
    if (!this.durable(subject)) return this.connection.publish(subject, payload, { headers: hdrs });
    const deadline = Date.now() + DURABLE_PUBLISH_TIMEOUT_MS;
    for (;;) {
      // Waits for the stream's acknowledgement: once this resolves, the message is stored. An
      // acknowledgement lost with the connection is not waited for: the message goes again once
      // the connection is back, and the stream keeps it once.
      let stop: () => void = () => undefined;
      const back = new Promise<'back'>((resolve) => (stop = this.onReconnect(() => resolve('back'))));
      try {
        const sent = this.js.publish(subject, payload, {
          headers: hdrs,
          msgID: msgId!,
          timeout: Math.max(1, deadline - Date.now()),
        });
        sent.catch(() => undefined);
        if ((await Promise.race([sent.then(() => 'stored' as const), back])) === 'stored') return;
      } catch (error) {
        // JetStream not answering yet (a server just back): again in a moment, within the deadline.
        if (toBusError(error, subject, 0).code !== 'no_responders' || Date.now() + 250 >= deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        stop();
      }
      if (Date.now() >= deadline)
        throw new BusError(
          'timeout',
          `publish to ${subject} was not acknowledged within ${DURABLE_PUBLISH_TIMEOUT_MS} ms`,
        );
    }
  }

  subscribe<T>(
    subject: string,
    handler: (message: BusMessage<T>) => void | Promise<void>,
    options: { queue?: string } = {},
  ): Subscription {
    const sub = this.connection.subscribe(subject, {
      ...(options.queue ? { queue: options.queue } : {}),
      callback: (error, msg) => {
        if (error) return this.options.onError?.(error, subject);
        this.track(subject, async () => handler(toBusMessage<T>(msg)));
      },
    });
    return this.keep(sub);
  }

  serve<T, R>(
    subject: string,
    handler: (message: BusMessage<T>) => Promise<R>,
    options: { queue?: string } = {},
  ): Subscription {
    const sub = this.connection.subscribe(subject, {
      ...(options.queue ? { queue: options.queue } : {}),
      callback: (error, msg) => {
        if (error) return this.options.onError?.(error, subject);
        this.track(subject, async () => {
          try {
            msg.respond(encoder.encode(JSON.stringify((await handler(toBusMessage<T>(msg))) ?? null)));
          } catch (failure) {
            const hdrs = natsHeaders();
            hdrs.set(
              ERROR_HEADER,
              (failure instanceof Error ? failure.message : String(failure)).replace(/[\r\n]+/g, ' ').slice(0, 500),
            );
            msg.respond(new Uint8Array(), { headers: hdrs });
          }
        });
      },
    });
    return this.keep(sub);
  }

  async request<R>(subject: string, data: unknown, options: { timeoutMs: number; headers?: Headers }): Promise<R> {
    let reply: Msg;
    try {
      reply = await this.connection.request(subject, encoder.encode(JSON.stringify(data)), {
        timeout: options.timeoutMs,
        headers: toNatsHeaders(options.headers),
      });
    } catch (error) {
      throw toBusError(error, subject, options.timeoutMs);
    }
    const failure = reply.headers?.get(ERROR_HEADER);
    if (failure) throw new BusError('remote_error', `request to ${subject} failed: ${failure}`);
    return JSON.parse(decoder.decode(reply.data)) as R;
  }

  consume<T>(subject: string, group: string, handler: WorkHandler<T>, options: ConsumeOptions = {}): Subscription {
    const spec = this.options.streams.find((s) => s.subjects.some((p) => covers(p, subject)));
    if (!spec) throw new Error(`no stream holds ${subject}; durable work needs one`);
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    const started = this.startConsumer(spec, subject, group, handler, options).then((m) => {
      messages = m;
      if (stopped) void m.close();
    });
    started.catch((error: unknown) => this.options.onError?.(error, subject));
    return {
      ready: started,
      unsubscribe: async () => {
        stopped = true;
        await started.catch(() => undefined);
        if (messages) {
          this.consumers.delete(messages);
          await messages.close().catch(() => undefined);
        }
      },
    };
  }

  async drain(): Promise<void> {
    for (const m of this.consumers) await m.close().catch(() => undefined);
    this.consumers.clear();
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.inFlight.size === 0) break;
      await Promise.allSettled([...this.inFlight]);
    }
    if (!this.connection.isClosed()) await this.connection.drain();
  }

  private async startConsumer<T>(
    spec: StreamSpec,
    subject: string,
    group: string,
    handler: WorkHandler<T>,
    options: ConsumeOptions,
  ): Promise<ConsumerMessages> {
    const ackWaitMs = this.options.ackWaitMs ?? 30_000;
    const maxDeliver = options.maxDeliver ?? 5;
    const durable = durableName(group, subject);
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: options.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      filter_subject: subject,
      ack_wait: nanos(ackWaitMs),
      max_deliver: Number.isFinite(maxDeliver) ? maxDeliver : -1,
      // Bounded by each member (its `concurrency`), not for the whole group: a group-wide bound would
      // cap every executor together however many are added.
      max_ack_pending: -1,
    };
    try {
      // Creating a durable that exists with the same settings succeeds: every member does it.
      await this.jsm.consumers.add(spec.name, config);
    } catch (error) {
      // It exists with other settings (a new release changed them): bring it up to date.
      await this.jsm.consumers
        .update(spec.name, durable, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
          max_ack_pending: config.max_ack_pending,
        })
        .catch(() => {
          throw error;
        });
    }
    const consumer = await this.js.consumers.get(spec.name, durable);
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONSUME_CONCURRENCY);
    // Pulled in batches; the next batch is asked for only as the loop below takes messages, so a
    // member at its limit leaves the queue to the others.
    // Pulls expire (and heartbeats come) every PULL_EXPIRES_MS: after a nats-server restart the
    // consumer is checked and pulled again within seconds, not after the client's 30 s default.
    const messages = await consumer.consume({ max_messages: Math.min(limit, 128), expires: PULL_EXPIRES_MS });
    this.consumers.add(messages);
    let active = 0;
    let slotFreed: (() => void) | undefined;
    void (async () => {
      for await (const m of messages) {
        while (active >= limit) await new Promise<void>((resolve) => (slotFreed = resolve));
        active++;
        this.track(subject, () =>
          this.handleWork(m, handler, ackWaitMs, maxDeliver).finally(() => {
            active--;
            const wake = slotFreed;
            slotFreed = undefined;
            wake?.();
          }),
        );
      }
    })().catch((error: unknown) => this.options.onError?.(error, subject));
    return messages;
  }

  /**
   * What a stream holds on `subject`, oldest first, from `from` (else the stream's start) up to
   * the newest at the call: for operators' tools (`mozaiks usage`), read without a durable consumer.
   */
  async *read<T = unknown>(
    subject: string,
    options: { from?: Date } = {},
  ): AsyncGenerator<BusMessage<T> & { time: Date }> {
    const spec = this.options.streams.find((s) => s.subjects.some((p) => covers(p, subject)));
    if (!spec) throw new Error(`no stream holds ${subject}`);
    const consumer = await this.js.consumers.get(spec.name, {
      // One subject as a string: servers before 2.10 take no list.
      filter_subjects: subject,
      ...(options.from
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.from.toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
    });
    if ((await consumer.info()).num_pending === 0) return;
    const messages = await consumer.consume();
    try {
      for await (const m of messages) {
        yield {
          subject: m.subject,
          data: JSON.parse(decoder.decode(m.data)) as T,
          headers: fromNatsHeaders(m.headers),
          time: new Date(Number(m.info.timestampNanos) / 1e6),
        };
        if (m.info.pending === 0) return;
      }
    } finally {
      await messages.close().catch(() => undefined);
    }
  }

  /** Removes what the stream holds on `subject` (a dead letter once it is delivered). */
  async purge(subject: string): Promise<void> {
    const spec = this.options.streams.find((s) => s.subjects.some((p) => covers(p, subject)));
    if (!spec) throw new Error(`no stream holds ${subject}`);
    await this.jsm.streams.purge(spec.name, { filter: subject });
  }

  /**
   * Messages of `subject` that no member of `group` has taken yet (the durable consumer's pending
   * count): the backlog autoscalers and alerts watch. Undefined before the group's consumer exists.
   */
  async backlog(subject: string, group: string): Promise<number | undefined> {
    const spec = this.options.streams.find((s) => s.subjects.some((p) => covers(p, subject)));
    if (!spec) return undefined;
    const info = await this.jsm.consumers.info(spec.name, durableName(group, subject)).catch(() => undefined);
    return info?.num_pending;
  }

  private async handleWork<T>(m: JsMsg, handler: WorkHandler<T>, ackWaitMs: number, maxDeliver: number): Promise<void> {
    // A long handler tells the server it is alive, so its message is not handed to another consumer.
    const heartbeat = setInterval(() => m.working(), Math.max(100, Math.floor(ackWaitMs / 3)));
    const attempt = m.info.deliveryCount;
    try {
      await handler(
        { subject: m.subject, data: JSON.parse(decoder.decode(m.data)) as T, headers: fromNatsHeaders(m.headers) },
        attempt,
      );
      m.ack();
    } catch (error) {
      if (error instanceof RetryLaterError) {
        m.nak(error.delayMs);
        return;
      }
      if (attempt >= maxDeliver) {
        m.term(`failed ${attempt} times`);
        throw error;
      }
      m.nak(Math.min(30_000, 200 * 2 ** (attempt - 1)));
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  private durable(subject: string): boolean {
    return this.options.streams.some((s) => s.subjects.some((p) => subjectMatches(p, subject)));
  }

  private keep(sub: NatsSubscription): Subscription {
    this.subscriptions.add(sub);
    return {
      unsubscribe: async () => {
        this.subscriptions.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  private track(subject: string, work: () => Promise<unknown>): void {
    const p = work().catch((error: unknown) => this.options.onError?.(error, subject));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}

async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    ...(spec.maxMsgsPerSubject ? { max_msgs_per_subject: spec.maxMsgsPerSubject } : {}),
  };
  try {
    await jsm.streams.info(spec.name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      await jsm.streams.add(config);
      return;
    }
    throw error;
  }
  await jsm.streams.update(spec.name, config);
}

/** Whether every subject matched by `filter` is matched by the stream subject `pattern`. */
function covers(pattern: string, filter: string): boolean {
  return subjectMatches(pattern, filter.replace(/\*/g, 'x').replace(/>$/, 'x'));
}

function toNatsHeaders(headers: Headers = {}, msgId?: string): MsgHdrs {
  const hdrs = natsHeaders();
  hdrs.set(VERSION_HEADER, '1');
  hdrs.set(MESSAGE_ID_HEADER, msgId ?? nuid.next());
  for (const [k, v] of Object.entries(headers)) hdrs.set(k, v);
  return hdrs;
}

function fromNatsHeaders(hdrs: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!hdrs) return out;
  for (const [k, v] of hdrs) if (v[0] !== undefined) out[k] = v[0];
  return out;
}

function toBusMessage<T>(msg: Msg): BusMessage<T> {
  return {
    subject: msg.subject,
    data: (msg.data.length ? JSON.parse(decoder.decode(msg.data)) : undefined) as T,
    headers: fromNatsHeaders(msg.headers),
  };
}

function toBusError(error: unknown, subject: string, timeoutMs: number): BusError {
  const chain = [error, (error as { cause?: unknown })?.cause];
  if (chain.some((e) => e instanceof errors.NoRespondersError))
    return new BusError('no_responders', `no service answers ${subject}`, { cause: error });
  if (chain.some((e) => e instanceof errors.TimeoutError))
    return new BusError('timeout', `request to ${subject} timed out after ${timeoutMs} ms`, { cause: error });
  if (chain.some((e) => e instanceof errors.ClosedConnectionError || e instanceof errors.DrainingConnectionError))
    return new BusError('closed', 'bus is closed', { cause: error });
  return new BusError(
    'remote_error',
    `request to ${subject} failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/**
 * The durable consumer of `group` on `subject`: every member of the group binds to the same one.
 * The Helm chart's KEDA trigger names it the same way (executors on `<prefix>.run.*.*`).
 */
export function durableName(group: string, subject: string): string {
  return `${group}_${createHash('sha256').update(subject).digest('hex').slice(0, 10)}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Connects a runtime service to NATS with the runtime's streams for `prefix`. */
export function connectRuntimeBus(options: {
  servers: string;
  prefix: string;
  service: string;
  ackWaitMs: number;
  onError: (error: unknown, subject: string) => void;
  onStatus?: NatsBusOptions['onStatus'];
  failFast?: boolean;
}): Promise<NatsBus> {
  const wiring = subjects(options.prefix);
  return NatsBus.connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: `mozaiks-${options.service}`,
    streams: wiring.streams,
    onceBucket: wiring.onceBucket,
    ackWaitMs: options.ackWaitMs,
    onError: options.onError,
    ...(options.onStatus ? { onStatus: options.onStatus } : {}),
    ...(options.failFast ? { failFast: true } : {}),
  });
}
