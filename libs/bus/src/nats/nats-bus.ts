// The Bus on NATS: core pub/sub and request/reply for live traffic, JetStream streams for work
// and usage that must survive a crash. Streams and consumers are created idempotently at connect.
// The adapter's concerns each have a file in this folder: the connection's status, the once-store,
// the work consumers, the streams and the codec.
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nuid } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { BusError } from '../bus.js';
import type {
  Bus,
  BusMessage,
  ConsumeOptions,
  Headers,
  PublishOptions,
  StreamSpec,
  Subscription,
  WorkHandler,
} from '../bus.js';
import { ERROR_HEADER, decoder, encoder, fromNatsHeaders, toBusError, toBusMessage, toNatsHeaders } from './codec.js';
import { ConnectionStatus } from './connection-status.js';
import type { ConnectionEvent } from './connection-status.js';
import { OnceStore } from './once-store.js';
import { ensureStream, isDurable, streamHolding } from './streams.js';
import { durableName, startConsumer } from './work-consumer.js';
import type { ConsumerContext } from './work-consumer.js';
import { errorMessage } from '@mozaiks/common';

export interface NatsBusOptions {
  /** NATS URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name, shown in the server's monitoring. */
  name: string;
  /** Streams to keep (the runtime's are wired by the service layer). */
  streams: StreamSpec[];
  /** Time a consumer has to acknowledge before the message goes to another; long handlers extend it. @default 30000 */
  ackWaitMs?: number;
  /** Key-value bucket that keeps the results of `once`. @default 'MOZAIKS_ONCE' */
  onceBucket?: string;
  onError?: (error: unknown, subject: string) => void;
  /** Told when the connection is lost and when it is back. */
  onStatus?: (status: ConnectionEvent) => void;
  /** Fail at once when no server answers, instead of waiting for one (operators' commands). */
  failFast?: boolean;
}

/** How long a durable publish waits for the stream's acknowledgement, across reconnects. */
const DURABLE_PUBLISH_TIMEOUT_MS = 10_000;

export class NatsBus implements Bus {
  private readonly subscriptions = new Set<NatsSubscription>();
  private readonly consumers = new Set<ConsumerMessages>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly status = new ConnectionStatus();
  private readonly onceStore: OnceStore;

  private constructor(
    readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsBusOptions,
  ) {
    this.onceStore = new OnceStore(connection, this.status, options.onceBucket ?? 'MOZAIKS_ONCE');
  }

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
    bus.status.watch(nc, options.onStatus);
    return bus;
  }

  /** Whether the connection is up (for /ready). */
  get connected(): boolean {
    return this.status.up && !this.connection.isClosed() && !this.connection.isDraining();
  }

  onReconnect(listener: () => void): () => void {
    return this.status.onReconnect(listener);
  }

  once<T>(key: string, work: () => Promise<T>, options: { ttlMs: number; waitMs: number }): Promise<T> {
    return this.onceStore.once(key, work, options);
  }

  async publish(subject: string, data: unknown, options: PublishOptions = {}): Promise<void> {
    const durable = isDurable(this.options.streams, subject);
    // Durable messages always carry an id: the stream de-duplicates a publish sent again.
    const msgId = options.msgId ?? (durable ? nuid.next() : undefined);
    const hdrs = toNatsHeaders(options.headers, msgId);
    const payload = encoder.encode(JSON.stringify(data));
    if (!durable) return this.connection.publish(subject, payload, { headers: hdrs });
    const deadline = Date.now() + DURABLE_PUBLISH_TIMEOUT_MS;
    for (;;) {
      // Waits for the stream's acknowledgement: once this resolves, the message is stored. An
      // acknowledgement lost with the connection is not waited for: the message goes again once
      // the connection is back, and the stream keeps it once.
      const { back, stop } = this.status.nextReconnect();
      try {
        const timeout = Math.max(1, deadline - Date.now());
        const sent = this.js.publish(subject, payload, { headers: hdrs, msgID: msgId!, timeout });
        sent.catch(() => undefined);
        if ((await Promise.race([sent.then(() => 'stored' as const), back])) === 'stored') return;
      } catch (error) {
        // JetStream not answering yet (a server just back): again in a moment, within the deadline.
        if (toBusError(error, subject, 0).code !== 'no_responders' || Date.now() + 250 >= deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        stop();
      }
      if (Date.now() >= deadline) {
        const message = `publish to ${subject} was not acknowledged within ${DURABLE_PUBLISH_TIMEOUT_MS} ms`;
        throw new BusError('timeout', message);
      }
    }
  }

  subscribe<T>(
    subject: string,
    handler: (message: BusMessage<T>) => void | Promise<void>,
    options: { queue?: string } = {},
  ): Subscription {
    return this.listen(subject, options.queue, async (msg) => handler(toBusMessage<T>(msg)));
  }

  serve<T, R>(
    subject: string,
    handler: (message: BusMessage<T>) => Promise<R>,
    options: { queue?: string } = {},
  ): Subscription {
    return this.listen(subject, options.queue, async (msg) => {
      try {
        msg.respond(encoder.encode(JSON.stringify((await handler(toBusMessage<T>(msg))) ?? null)));
      } catch (failure) {
        const hdrs = natsHeaders();
        hdrs.set(
          ERROR_HEADER,
          errorMessage(failure)
            .replace(/[\r\n]+/g, ' ')
            .slice(0, 500),
        );
        msg.respond(new Uint8Array(), { headers: hdrs });
      }
    });
  }

  /** Handles each message of `subject` (one member of `queue` each), tracked until its handler ends. */
  private listen(subject: string, queue: string | undefined, handle: (msg: Msg) => Promise<unknown>): Subscription {
    const sub = this.connection.subscribe(subject, {
      ...(queue ? { queue } : {}),
      callback: (error, msg) => {
        if (error) return this.options.onError?.(error, subject);
        this.track(subject, () => handle(msg));
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
    const spec = streamHolding(this.options.streams, subject);
    if (!spec) throw new Error(`no stream holds ${subject}; durable work needs one`);
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    const started = startConsumer(this.consumerContext(), spec, subject, group, handler, options).then((m) => {
      messages = m;
      this.consumers.add(m);
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

  /**
   * What a stream holds on `subject`, oldest first, from `from` (else the stream's start) up to
   * the newest at the call: for operators' tools (`mozaiks usage`), read without a durable consumer.
   */
  async *read<T = unknown>(
    subject: string,
    options: { from?: Date } = {},
  ): AsyncGenerator<BusMessage<T> & { time: Date }> {
    const spec = streamHolding(this.options.streams, subject);
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

  /** Removes what the stream holds on `subject` (a dead letter once it is delivered); returns how many messages. */
  async purge(subject: string): Promise<number> {
    const spec = streamHolding(this.options.streams, subject);
    if (!spec) throw new Error(`no stream holds ${subject}`);
    return (await this.jsm.streams.purge(spec.name, { filter: subject })).purged;
  }

  /**
   * Messages of `subject` that no member of `group` has taken yet (the durable consumer's pending
   * count): the backlog autoscalers and alerts watch. Undefined before the group's consumer exists.
   */
  async backlog(subject: string, group: string): Promise<number | undefined> {
    const spec = streamHolding(this.options.streams, subject);
    if (!spec) return undefined;
    const info = await this.jsm.consumers.info(spec.name, durableName(group, subject)).catch(() => undefined);
    return info?.num_pending;
  }

  private consumerContext(): ConsumerContext {
    return {
      js: this.js,
      jsm: this.jsm,
      ackWaitMs: this.options.ackWaitMs ?? 30_000,
      track: (subject, work) => this.track(subject, work),
      ...(this.options.onError ? { onError: this.options.onError } : {}),
    };
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
