// The Bus port: how services talk. Subjects are dot-separated tokens; `*` matches one token and
// `>` the rest. Payloads are JSON values; adapters copy them, so no sender shares memory with a receiver.

export type Headers = Record<string, string>;

/** A durable stream: which subjects it holds, and how long. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** `workqueue`: a message is gone once a consumer acknowledges it. `limits`: kept for `maxAgeMs`. */
  retention: 'workqueue' | 'limits';
  maxAgeMs: number;
  /** Window within which a repeated message id is stored once. */
  duplicateWindowMs: number;
  /** Messages kept per subject: the newest replaces the one before. @default unlimited */
  maxMsgsPerSubject?: number;
}

export interface BusMessage<T = unknown> {
  subject: string;
  data: T;
  headers: Headers;
}

export interface PublishOptions {
  headers?: Headers;
  /** Unique id of the message; durable subjects de-duplicate on it. */
  msgId?: string;
}

export interface Subscription {
  /** Stops delivery; messages already delivered finish. */
  unsubscribe(): Promise<void>;
  /** Of `consume`: settles once the group's durable consumer exists, so nothing published after it is missed. */
  ready?: Promise<void>;
}

/** Handles work from a durable subject; resolve to acknowledge, reject to have it delivered again. */
export type WorkHandler<T = unknown> = (message: BusMessage<T>, attempt: number) => Promise<void>;

export interface ConsumeOptions {
  /** Deliveries of one message before it is given up (and logged); `Infinity` never gives up. @default 5 */
  maxDeliver?: number;
  /**
   * Messages this member handles at once. Beyond it, messages wait in the queue (on NATS they are
   * not even pulled), where other members of the group take them. @default 256
   */
  concurrency?: number;
  /**
   * Where a group that does not exist yet starts: every message the stream holds, or only those
   * published from now on (a new billing sink does not receive the stream's past). @default 'all'
   */
  startAt?: 'all' | 'new';
}

/** Messages one member of a consumer group handles at once unless told otherwise. */
export const DEFAULT_CONSUME_CONCURRENCY = 256;

/**
 * Thrown by a work handler to have its message delivered again after `delayMs`, without it being
 * a failure (the work is not ready yet: say, another consumer holds what it needs).
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface Bus {
  /** Fire-and-forget to every subscriber (one per queue group). */
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<void>;
  /** Live messages on `subject`; with `queue`, each message goes to one member of the group. */
  subscribe<T = unknown>(
    subject: string,
    handler: (message: BusMessage<T>) => void | Promise<void>,
    options?: { queue?: string },
  ): Subscription;
  /** Answers requests on `subject` with the handler's return value; members of `queue` share them. */
  serve<T = unknown, R = unknown>(
    subject: string,
    handler: (message: BusMessage<T>) => Promise<R>,
    options?: { queue?: string },
  ): Subscription;
  /** Sends a request and waits for one answer. @throws BusError `no_responders` or `timeout` */
  request<R = unknown>(subject: string, data: unknown, options: { timeoutMs: number; headers?: Headers }): Promise<R>;
  /** Durable work: each message goes to one consumer of `group`, and again if it is not acknowledged. */
  consume<T = unknown>(subject: string, group: string, handler: WorkHandler<T>, options?: ConsumeOptions): Subscription;
  /**
   * Calls `listener` each time the bus comes back after losing its connection: live messages sent
   * meanwhile are lost, and a subscriber that must miss nothing re-reads what it needs. Returns
   * what stops the calls.
   */
  onReconnect(listener: () => void): () => void;
  /**
   * Runs `work` once for `key` among every member of the bus: a later call with the same key,
   * here or in another process, waits for the first one's result (up to `waitMs`) and returns it,
   * instead of running `work` again. Results are kept for `ttlMs`.
   */
  once<T>(key: string, work: () => Promise<T>, options: { ttlMs: number; waitMs: number }): Promise<T>;
  /** Stops taking messages, lets handlers in flight finish, and closes. */
  drain(): Promise<void>;
}

export type BusErrorCode = 'no_responders' | 'timeout' | 'closed' | 'remote_error';

export class BusError extends Error {
  override name = 'BusError';
  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  get retryable(): boolean {
    return this.code !== 'closed';
  }
}

/** Whether `subject` matches `pattern` under NATS wildcard rules. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
