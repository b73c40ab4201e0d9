// The executor: takes "this chat has work" nudges from the bus and, holding the chat's lease, runs
// the chat's pending inputs from its inbox in order (chat-session.ts). Every step is appended to
// the chat's log before it is published, so a run cut short (crash, drain) is continued by
// whichever executor next holds the lease; a writer whose lease was taken over can no longer append.
import { RetryLaterError } from '@mozaiks/bus';
import type { BusMessage, Subscription } from '@mozaiks/bus';
import { FairGate, errorMessage } from '@mozaiks/common';
import { ChatNudge, describeIssues } from '@mozaiks/protocol';
import type { ChatDeleted } from '@mozaiks/protocol';
import { newActiveChat, wakeUp } from './active-chat.js';
import type { ActiveChat } from './active-chat.js';
import { ChatSessions } from './chat-session.js';
import { answerVersionRequests } from './version-responder.js';
import { executorOptionsWithDefaults } from './executor-options.js';
import { executorMetrics } from './metrics.js';
import type { ExecutorOptions, ExecutorOptionsWithDefaults } from './executor-options.js';

export class Executor {
  readonly id: string;
  private readonly options: ExecutorOptionsWithDefaults;
  private readonly sessions: ChatSessions;
  private subscription: Subscription | undefined;
  private versionRequests: Subscription | undefined;
  private deletions: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Chats this process is serving, by chat key. */
  private readonly active = new Map<string, ActiveChat>();
  private readonly running = new Set<Promise<unknown>>();
  /** Chats served at once, taken in turn across apps and their users, each app within its cap. */
  private readonly slots: FairGate;

  constructor(given: ExecutorOptions) {
    this.options = executorOptionsWithDefaults(given);
    this.id = this.options.id;
    this.sessions = new ChatSessions(this.options);
    this.slots = new FairGate({ concurrency: this.options.concurrency, perApp: this.options.maxRunsPerApp });
    executorMetrics(this.options.metrics);
  }

  /** Loads the workflows, starts taking run requests, then asks for every chat left with pending work to be taken up. */
  async start(): Promise<void> {
    const { bus, subjects } = this.options;
    await this.sessions.warmUp();
    this.versionRequests = answerVersionRequests(this.options);
    // A chat being deleted stops here; once erased, its history must not come back with its id.
    this.deletions = bus.subscribe<ChatDeleted>(subjects.allChatDeletions, ({ data }) => {
      const key = chatKeyOf(data);
      if (data.erased) this.sessions.forget(key);
      else this.sessions.stopServing(key, this.active.get(key));
    });
    this.subscription = bus.consume(
      subjects.allRuns,
      'executors',
      (message, attempt) => this.accept(message, attempt),
      {
        maxDeliver: Infinity,
        concurrency: this.options.concurrency,
      },
    );
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  /** Nudges every chat with work left and no lease holder. */
  private async sweep(): Promise<void> {
    const { bus, subjects, inbox, logger } = this.options;
    try {
      const leftovers = await inbox.chatsWithWork();
      for (const chat of leftovers) {
        const { app_id, user_id, chat_id, workflow_id } = chat;
        const nudge: ChatNudge = { v: 1, app_id, user_id, chat_id, workflow_id };
        await bus.publish(subjects.run(app_id, workflow_id), nudge);
      }
      if (leftovers.length) logger.info({ chats: leftovers.length }, 'resuming chats with pending work');
    } catch (error) {
      logger.warn({ error: errorMessage(error) }, 'sweep for pending work failed; retrying later');
    }
  }

  /**
   * Stops taking requests, lets runs in flight finish for the grace period, then hands the rest
   * back: each stops after its current step and its request goes to another executor.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    this.sessions.leases.stopWhenIdle();
    await this.subscription?.unsubscribe();
    const grace = new Promise((resolve) => setTimeout(resolve, this.options.shutdownGraceMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    for (const chat of this.active.values()) chat.controller.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.versionRequests?.unsubscribe();
    await this.deletions?.unsubscribe();
  }

  private async accept(message: BusMessage, attempt: number): Promise<void> {
    const parsed = ChatNudge.safeParse(message.data);
    if (!parsed.success) {
      // A malformed nudge will never succeed: acknowledge it and say so.
      const problem = describeIssues(parsed.error);
      this.options.logger.error({ subject: message.subject, problem }, 'dropped invalid run request');
      return;
    }
    if (this.stopping) throw new RetryLaterError(0, 'executor is stopping');
    const nudge = parsed.data;
    const key = chatKeyOf(nudge);
    // Its work is about to be erased with it.
    if (this.sessions.isDeleting(key)) return;
    const serving = this.active.get(key);
    // Its serving is only publishing usage: this request is served anew at once, not acknowledged
    // beside it; its usage goes out after that serving's (and with what that one left unpublished).
    if (serving?.settling) return this.serve(nudge, key, attempt, serving.usage);
    if (serving) {
      // Served here already: that run reads the inbox again before letting the chat go.
      wakeUp(serving, nudge.input_seq);
      // A request delivered again may be the very one served here, back because its first delivery
      // could not be kept alive (NATS away): it ends as the serving ends, so a serving that fails
      // (its usage not published) is delivered again rather than acknowledged away.
      if (attempt > 1) await serving.served;
      return;
    }
    await this.serve(nudge, key, attempt);
  }

  /** Serves a chat nobody serves here, claimed before the first await so two nudges here never both serve it. */
  private async serve(nudge: ChatNudge, key: string, attempt: number, usageBefore?: Promise<void>): Promise<void> {
    const chat = newActiveChat();
    this.active.set(key, chat);
    const inFlight = executorMetrics(this.options.metrics).runsInFlight;
    // A request delivered again may stand for nudges its first executor took in before it died:
    // it reads the whole inbox, not only the input it names.
    const from = attempt > 1 ? undefined : nudge.input_seq;
    const work = this.slots
      .run(nudge.app_id, nudge.user_id, async () => {
        inFlight.inc();
        try {
          return await this.sessions.serve(nudge, key, chat, from, usageBefore);
        } finally {
          inFlight.dec();
        }
      })
      .finally(() => {
        if (this.active.get(key) === chat) this.active.delete(key);
      });
    chat.served = work;
    this.running.add(work);
    try {
      await work;
    } finally {
      this.running.delete(work);
    }
  }
}

/** A chat's key among the chats this process serves and remembers. */
function chatKeyOf(chat: { app_id: string; user_id: string; chat_id: string }): string {
  return `${chat.app_id}\u0000${chat.user_id}\u0000${chat.chat_id}`;
}
