// Durable work on NATS: each member of a group pulls from the group's durable consumer, at most
// `concurrency` messages at a time; a handler that succeeds acknowledges its message, one that
// fails has it delivered again later, and a long one keeps it from going to another member.
import { createHash } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { backoffDelay } from '@mozaiks/common';
import type { BackoffPolicy } from '@mozaiks/common';
import { DEFAULT_CONSUME_CONCURRENCY, RetryLaterError } from '../bus.js';
import type { ConsumeOptions, StreamSpec, WorkHandler } from '../bus.js';
import { decoder, fromNatsHeaders, nanos } from './codec.js';

/**
 * Life of a consumer's pull request. The client checks the consumer again after a failed check
 * (JetStream still recovering after a restart) in about this long, and heartbeats come at half of it.
 */
const PULL_EXPIRES_MS = 2000;
/** The wait before a failed message is delivered again. */
const REDELIVERY: BackoffPolicy = { initialMs: 200, maxMs: 30_000, jitter: 'none' };

/** What a consumer needs of its bus. */
export interface ConsumerContext {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Time a member has to acknowledge before the message goes to another. */
  ackWaitMs: number;
  /** Runs a handler, tracked until it ends (and drained on close). */
  track: (subject: string, work: () => Promise<unknown>) => void;
  onError?: (error: unknown, subject: string) => void;
}

/** Joins (making it if needed) the group's durable consumer and starts handling its messages. */
export async function startConsumer<T>(
  context: ConsumerContext,
  spec: StreamSpec,
  subject: string,
  group: string,
  handler: WorkHandler<T>,
  options: ConsumeOptions,
): Promise<ConsumerMessages> {
  const { ackWaitMs } = context;
  const maxDeliver = options.maxDeliver ?? 5;
  const durable = await ensureConsumer(context, spec, subject, group, options, maxDeliver);
  const consumer = await context.js.consumers.get(spec.name, durable);
  const limit = Math.max(1, options.concurrency ?? DEFAULT_CONSUME_CONCURRENCY);
  // Pulled in batches; the next batch is asked for only as the loop below takes messages, so a
  // member at its limit leaves the queue to the others. Pulls expire (and heartbeats come) every
  // PULL_EXPIRES_MS: after a nats-server restart the consumer is checked and pulled again within
  // seconds, not after the client's 30 s default.
  const messages = await consumer.consume({ max_messages: Math.min(limit, 128), expires: PULL_EXPIRES_MS });
  let active = 0;
  let slotFreed: (() => void) | undefined;
  void (async () => {
    for await (const m of messages) {
      while (active >= limit) await new Promise<void>((resolve) => (slotFreed = resolve));
      active++;
      context.track(subject, () =>
        handleWork(m, handler, ackWaitMs, maxDeliver).finally(() => {
          active--;
          const wake = slotFreed;
          slotFreed = undefined;
          wake?.();
        }),
      );
    }
  })().catch((error: unknown) => context.onError?.(error, subject));
  return messages;
}

/** The group's durable consumer, made by whichever member comes first and brought up to date by a new release. */
async function ensureConsumer(
  context: ConsumerContext,
  spec: StreamSpec,
  subject: string,
  group: string,
  options: ConsumeOptions,
  maxDeliver: number,
): Promise<string> {
  const durable = durableName(group, subject);
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: options.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: subject,
    ack_wait: nanos(context.ackWaitMs),
    max_deliver: Number.isFinite(maxDeliver) ? maxDeliver : -1,
    // Bounded by each member (its `concurrency`), not for the whole group: a group-wide bound would
    // cap every executor together however many are added.
    max_ack_pending: -1,
  };
  try {
    // Creating a durable that exists with the same settings succeeds: every member does it.
    await context.jsm.consumers.add(spec.name, config);
  } catch (error) {
    // It exists with other settings (a new release changed them): bring it up to date.
    const { ack_wait, max_deliver, max_ack_pending } = config;
    await context.jsm.consumers.update(spec.name, durable, { ack_wait, max_deliver, max_ack_pending }).catch(() => {
      throw error;
    });
  }
  return durable;
}

async function handleWork<T>(m: JsMsg, handler: WorkHandler<T>, ackWaitMs: number, maxDeliver: number): Promise<void> {
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
    m.nak(backoffDelay(REDELIVERY, attempt));
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * The durable consumer of `group` on `subject`: every member of the group binds to the same one.
 * The Helm chart's KEDA trigger names it the same way (executors on `<prefix>.run.*.*`).
 */
export function durableName(group: string, subject: string): string {
  return `${group}_${createHash('sha256').update(subject).digest('hex').slice(0, 10)}`.replace(/[^A-Za-z0-9_-]/g, '_');
}
