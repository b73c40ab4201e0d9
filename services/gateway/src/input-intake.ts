// Taking a user's input in, the one path for a socket and for `POST /chat/start`: stored in the
// chat's inbox in acceptance order (runs follow that order), then announced to the executors. Once
// stored, the input runs: a failed announcement is retried, and an executor's sweep takes it up last.
import { randomUUID } from 'node:crypto';
import type { Bus } from '@mozaiks/bus';
import { FairGate, backoffDelay, errorMessage } from '@mozaiks/common';
import type { BackoffPolicy } from '@mozaiks/common';
import type { ChatNudge, LaunchContext, Subjects, Tenant } from '@mozaiks/protocol';
import type { ChatInbox, NewInput, PendingInput } from '@mozaiks/store';
import { childTraceparent, newTraceparent } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';

/** Times an announcement that could not be published is tried again (over about 25 seconds). */
const NUDGE_RETRIES = 6;
/** The waits between those tries. */
const NUDGE_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 8000, jitter: 'none' };

/**
 * Inputs being stored at once. A burst of one app's messages queues here in turn with every other
 * app's (FairGate), instead of in front of them in arrival order.
 */
const STORING_AT_ONCE = 32;
/** Inputs stored in one turn of the event loop: a message that arrives meanwhile is read before the rest. */
const PER_TICK = 4;

/** An input stored, and whether it was new (the same request id is accepted once). */
export interface Admitted {
  input: PendingInput;
  created: boolean;
}

export class InputIntake {
  private readonly storing = new FairGate({ concurrency: STORING_AT_ONCE, perTick: PER_TICK });

  constructor(
    private readonly options: {
      bus: Bus;
      inbox: ChatInbox;
      subjects: Subjects;
      /** Whether the gateway still takes work (a stopping one stops retrying announcements). */
      accepting: () => boolean;
    },
  ) {}

  /** Stores the input as the chat's next and announces it. @throws when the input could not be stored */
  async admit(launch: LaunchContext, input: NewInput, log: Logger): Promise<Admitted> {
    const tenant: Tenant = { app_id: launch.app_id, user_id: launch.user_id };
    const accepted = await this.storing.run(tenant.app_id, tenant.user_id, () =>
      this.options.inbox.accept(tenant, launch.chat_id, input),
    );
    if (accepted.created)
      await this.announce(launch, accepted.input, input.traceparent ?? newTraceparent('input'), log);
    return accepted;
  }

  /** Stores the input only when the chat is idle (nothing waits or runs beyond input `next - 1`); else undefined. */
  async admitIfIdle(launch: LaunchContext, input: NewInput, next: number, log: Logger): Promise<Admitted | undefined> {
    const tenant: Tenant = { app_id: launch.app_id, user_id: launch.user_id };
    const accepted = await this.storing.run(tenant.app_id, tenant.user_id, () =>
      this.options.inbox.acceptIfIdle(tenant, launch.chat_id, input, next),
    );
    if (accepted?.created)
      await this.announce(launch, accepted.input, input.traceparent ?? newTraceparent('input'), log);
    return accepted;
  }

  /**
   * A chat opened for the first time: its first input says so, ahead of anything the user sends,
   * so an agent-driven workflow speaks first (the executor ignores it for a user-driven one). Its
   * request id is the chat's own, so several sockets opening the chat at once accept it once.
   */
  async open(launch: LaunchContext, log: Logger, traceparent = newTraceparent('chat open')): Promise<Admitted> {
    return this.admit(launch, openingInput(launch, traceparent), log);
  }

  /**
   * Announces the input; when NATS is away, tries again for a while in the background (the input
   * is stored either way). Resolves once the first try is done.
   */
  private announce(launch: LaunchContext, input: PendingInput, traceparent: string, log: Logger): Promise<void> {
    const attempt = (n: number): Promise<void> =>
      this.nudge(launch, input, traceparent).catch((error: unknown) => {
        if (n === 1) log.warn({ error: errorMessage(error) }, 'could not announce an input; trying again');
        if (n > NUDGE_RETRIES || !this.options.accepting()) {
          log.warn({ request_id: input.request_id }, 'input not announced; an executor sweep will take it up');
          return;
        }
        setTimeout(() => void attempt(n + 1), backoffDelay(NUDGE_BACKOFF, n)).unref();
      });
    return attempt(1);
  }

  /** Tells the executors that the chat has work in its inbox, from `input` on. */
  private nudge(launch: LaunchContext, input: PendingInput, traceparent: string): Promise<void> {
    const { bus, subjects } = this.options;
    const nudge: ChatNudge = {
      v: 1,
      app_id: launch.app_id,
      user_id: launch.user_id,
      chat_id: launch.chat_id,
      workflow_id: launch.workflow_id,
      input_seq: input.input_seq,
    };
    // One nudge per accepted input: the stream stores a repeated one once.
    const msgId = `${launch.app_id}.${launch.user_id}.${launch.chat_id}.${input.request_id}`;
    const subject = subjects.run(launch.app_id, launch.workflow_id);
    const headers = { traceparent: childTraceparent(traceparent, `publish ${subjects.allRuns}`) };
    return bus.publish(subject, nudge, { msgId, headers });
  }
}

/** An input from the token's ids and claims, with the user's words. */
export function newInput(launch: LaunchContext, content: string, traceparent: string): NewInput {
  return {
    request_id: randomUUID(),
    workflow_id: launch.workflow_id,
    content,
    context: launch.custom,
    ...(launch.max_tokens === undefined ? {} : { max_tokens: launch.max_tokens }),
    received_at: new Date().toISOString(),
    traceparent,
  };
}

/** A chat's opening: one per chat (its request id is the chat's), however many sockets and starts announce it. */
export function openingInput(launch: LaunchContext, traceparent: string): NewInput {
  return { ...newInput(launch, '', traceparent), request_id: `open_${launch.chat_id}`, kind: 'open' };
}
