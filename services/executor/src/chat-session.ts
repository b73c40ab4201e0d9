// Serving a chat here: its lease is taken, its pending inputs run in order, and it is let go;
// again whenever someone asked for it meanwhile (a nudge that woke it here, or another executor
// that wanted it), until its inbox has nothing left. A writer whose lease was taken over stops at
// once. The chat's last writer is kept, so its next serving here reads only what is new.
import { RetryLaterError } from '@mozaiks/bus';
import { FairGate, errorMessage } from '@mozaiks/common';
import { RunAbortedError } from '@mozaiks/engine';
import type { ChatNudge, Tenant } from '@mozaiks/protocol';
import { LeaseLostError } from '@mozaiks/store';
import type { ChatWriter, Lease, PendingInput } from '@mozaiks/store';
import { takeWake } from './active-chat.js';
import type { ActiveChat } from './active-chat.js';
import { answerCancels } from './cancel-responder.js';
import type { ExecutorOptionsWithDefaults } from './executor-options.js';
import { InputRunner } from './input-runner.js';
import { LeaseKeeper } from './lease-keeper.js';
import { UsagePublisher, UsageQueue } from './usage-outbox.js';

/** Inputs read from the inbox at a time. */
const PENDING_PAGE = 64;

/**
 * Chats taking their lease and reading their log at once. A burst of one app's chats queues here
 * in turn with every other app's, instead of in front of them in arrival order.
 */
const TAKING_AT_ONCE = 32;
/** Lease takings begun in one turn of the event loop: their store work is synchronous on SQLite. */
const TAKING_PER_TICK = 8;
/** How long a chat being deleted is served no more if the word that it was erased never comes. */
const DELETING_MS = 60_000;

/**
 * Delay before a nudge for a chat leased elsewhere is tried again. The holder was told the chat is
 * wanted and reads the inbox again as it lets go, so the retry is only for a holder that died.
 */
const BUSY_RETRY_MS = 1000;

/** One holding of a chat's lease, as it goes. */
interface Holding {
  tenant: Tenant;
  chatId: string;
  key: string;
  chat: ActiveChat;
  usage: UsageQueue;
}

export class ChatSessions {
  /**
   * The last writer this process had on each chat it served lately (least recently served first):
   * the next run of the chat here reads only what others committed since.
   */
  private readonly writers = new Map<string, ChatWriter>();
  /** Chats whose usage this process failed to publish: their outbox is read on the next run. */
  private readonly usageOwed = new Set<string>();
  /** Chats being deleted, served no more until they are erased. */
  private readonly deleting = new Map<string, NodeJS.Timeout>();
  /** The leases of the chats served here, renewed together. */
  readonly leases: LeaseKeeper;
  private readonly runner: InputRunner;
  private readonly publisher: UsagePublisher;
  /** Lease takings and log reads, served in turn across apps and users. */
  private readonly taking = new FairGate({ concurrency: TAKING_AT_ONCE, perTick: TAKING_PER_TICK });

  constructor(private readonly options: ExecutorOptionsWithDefaults) {
    this.leases = new LeaseKeeper(options.inbox, options.leaseMs);
    this.runner = new InputRunner(options);
    this.publisher = new UsagePublisher(options);
  }

  /**
   * The chat is being deleted: its run going stops, and it is served no more (its next inputs are
   * not run, nudges for it are let go) until it is erased, or for a minute should that word be lost.
   */
  stopServing(key: string, chat: ActiveChat | undefined): void {
    clearTimeout(this.deleting.get(key));
    this.deleting.set(
      key,
      setTimeout(() => this.deleting.delete(key), DELETING_MS),
    );
    chat?.current?.cancel.abort();
  }

  /** Whether the chat is being deleted (`stopServing`). */
  isDeleting(key: string): boolean {
    return this.deleting.has(key);
  }

  /** The chat was erased: what this process kept of it (its last writer, with the history) goes. */
  forget(key: string): void {
    clearTimeout(this.deleting.get(key));
    this.deleting.delete(key);
    this.writers.delete(key);
    this.usageOwed.delete(key);
  }

  /** Loads every workflow of the folder before the first chat needs one (input-runner.ts). */
  warmUp(): Promise<void> {
    return this.runner.warmUp();
  }

  /**
   * Runs every pending input of the chat, in order, while holding its lease; and again whenever
   * someone asked for the chat while it was held, until its inbox has nothing left. Resolves (the
   * request is acknowledged) once the usage of every run is published too; the chat is marked
   * `settling` while only that is left.
   */
  async serve(
    nudge: ChatNudge,
    key: string,
    chat: ActiveChat,
    first: number | undefined,
    usageBefore?: Promise<void>,
  ): Promise<void> {
    const tenant: Tenant = { app_id: nudge.app_id, user_id: nudge.user_id };
    // Usage is published beside the chat's next run and after its lease is let go: neither a
    // queued message nor the chat's next holder waits for a billing record. It goes out after the
    // usage of the chat's previous serving here; should that fail, with what it left in the outbox.
    const usage = new UsageQueue(
      (events, traceparent) => this.publisher.publish(tenant, nudge.chat_id, events, traceparent),
      () => this.usageOwed.add(key),
      usageBefore && {
        after: usageBefore,
        outbox: () => this.options.inbox.unpublishedUsage(tenant, nudge.chat_id),
      },
    );
    chat.usage = usage.settled();
    // Observed by the next serving, or by none.
    chat.usage.catch(() => undefined);
    const cancels = answerCancels(this.options, nudge, chat);
    const holding: Holding = { tenant, chatId: nudge.chat_id, key, chat, usage };
    let failure: { error: unknown } | undefined;
    try {
      await this.serveUntilIdle(holding, nudge.workflow_id, first);
    } catch (error) {
      failure = { error };
    } finally {
      void cancels.unsubscribe();
    }
    // The chat's runs are over here; its usage is on its way. Unpublished usage stays in the
    // outbox: the request is delivered again to retry it.
    chat.settling = true;
    try {
      await usage.settled();
    } catch (error) {
      failure ??= { error };
    }
    if (failure) throw failure.error;
  }

  /** Holds the chat as long as someone wants it. */
  private async serveUntilIdle(holding: Holding, workflowId: string, first: number | undefined): Promise<void> {
    const { chat, tenant, chatId, key } = holding;
    let hint = first;
    for (;;) {
      // Being deleted: nothing more of it runs here.
      if (this.deleting.has(key)) return;
      const served = await this.hold(holding, workflowId, hint);
      if (!served) throw new RetryLaterError(BUSY_RETRY_MS, 'chat is leased by another executor');
      if (chat.wake) {
        // A nudge came here while the chat was being let go: serve it, from the input it named
        // (everything waiting, if another executor asked too).
        const woken = takeWake(chat);
        hint = served.wanted ? undefined : woken;
        continue;
      }
      if (!served.wanted) return;
      // Another executor asked for the chat while it was held here: look once more.
      const more = await this.options.inbox.pending(tenant, chatId, served.inputsDone, 1);
      hint = more[0]?.input_seq;
      // Decided in the same tick as the chat stops being served here, so no nudge falls between.
      if (more.length === 0 && !chat.wake) return;
      if (chat.wake) {
        // Woken meanwhile as well: read everything that waits.
        takeWake(chat);
        hint = undefined;
      }
    }
  }

  /**
   * Takes the chat's lease, runs its pending inputs and lets it go. The lease, the inputs and the
   * history are read at once; the history only beyond this process's last writer on the chat.
   * Returns undefined when another holder has the chat.
   */
  private async hold(
    holding: Holding,
    workflowId: string,
    hint: number | undefined,
  ): Promise<{ wanted: boolean; inputsDone: number } | undefined> {
    const { inbox, log } = this.options;
    const { tenant, chatId, key, chat } = holding;
    const previous = this.writers.get(key);
    // Where this process's last writer stood, before opening a new one carries it on.
    const carried = previous?.position;
    // A nudge names its input: that one is read (every later input brings a nudge of its own,
    // which wakes this run or is told to the holder). A sweep's nudge reads a page.
    const after = hint !== undefined ? hint - 1 : (previous?.inputsDone ?? 0);
    // Taking the lease and reading the log wait their turn with every other app's chats.
    const taken = await this.taking.run(tenant.app_id, tenant.user_id, async () => {
      const [lease, prefetched, early] = await Promise.all([
        inbox.acquire(tenant, chatId, this.options.id, this.options.leaseMs),
        log.prefetch(tenant, chatId, previous),
        inbox.pending(tenant, chatId, after, hint !== undefined ? 1 : PENDING_PAGE),
      ]);
      if (!lease) return undefined;
      // Another executor took over (this one stalled past its lease): stop writing at once.
      const letGo = this.leases.hold(lease, () => chat.controller.abort());
      const opening = log.openWriter(lease, workflowId, { ...(previous ? { previous } : {}), prefetched });
      const opened = await opening.then(
        (writer) => ({ writer }),
        (error: unknown) => ({ error }),
      );
      return { lease, early, letGo, opened };
    });
    if (!taken) return undefined;
    const { lease, early, letGo, opened } = taken;
    let writer: ChatWriter | undefined;
    try {
      if ('error' in opened) throw opened.error;
      writer = opened.writer;
      this.remember(key, writer);
      this.owedUsage(holding, carried, writer, lease);
      // The inputs read with the lease do if they start right after this chat's finished ones.
      const fits = after <= writer.inputsDone;
      const queue = fits
        ? early.filter((i) => i.input_seq > writer!.inputsDone)
        : await inbox.pending(tenant, chatId, writer.inputsDone, PENDING_PAGE);
      const complete = fits ? hint !== undefined || early.length < PENDING_PAGE : queue.length < PENDING_PAGE;
      await this.runInputs(holding, writer, queue, complete);
    } catch (failure) {
      letGo();
      await this.handBack(holding, lease, writer, failure);
    }
    letGo();
    return this.release(holding, lease, writer!);
  }

  /** Usage a run here or elsewhere left unpublished: only a chat someone else wrote, or whose usage this process could not publish, can have any. */
  private owedUsage(holding: Holding, carried: number | undefined, writer: ChatWriter, lease: Lease): void {
    const continued = carried !== undefined && carried === writer.position && !lease.takeover;
    if (continued && !this.usageOwed.has(holding.key)) return;
    this.usageOwed.delete(holding.key);
    holding.usage.add(() => this.options.inbox.unpublishedUsage(holding.tenant, holding.chatId));
  }

  /** Runs the inputs, reading the inbox again while more than a page waits or a nudge came meanwhile. */
  private async runInputs(
    holding: Holding,
    writer: ChatWriter,
    first: PendingInput[],
    complete: boolean,
  ): Promise<void> {
    const { chat, usage, tenant, chatId } = holding;
    let queue = first;
    for (;;) {
      for (const input of queue) {
        if (chat.controller.signal.aborted) throw new RetryLaterError(0, 'run handed back');
        if (this.deleting.has(holding.key)) return;
        const billed = await this.runner.run(writer, input, chat);
        if (billed) usage.add(async () => [billed], input.traceparent);
      }
      if ((complete && !chat.wake) || this.deleting.has(holding.key)) return;
      const woken = takeWake(chat);
      // The one input a nudge named is a lookup by id; anything else, a page.
      const next = woken !== undefined && woken === writer.inputsDone + 1 && complete;
      queue = await this.options.inbox.pending(tenant, chatId, writer.inputsDone, next ? 1 : PENDING_PAGE);
      complete = next || queue.length < PENDING_PAGE;
    }
  }

  /** Lets the chat go after a failure or a hand-back, for whoever takes the request up next; throws what the request should do. */
  private async handBack(
    holding: Holding,
    lease: Lease,
    writer: ChatWriter | undefined,
    failure: unknown,
  ): Promise<never> {
    const handedBack = failure instanceof LeaseLostError || failure instanceof RunAbortedError;
    // Something went wrong mid-write: what this process knows of the chat may be short of the log.
    if (!(handedBack || failure instanceof RetryLaterError)) this.writers.delete(holding.key);
    const progress = {
      inputsDone: writer?.inputsDone ?? lease.inputsDone,
      position: writer?.position ?? lease.position,
    };
    await this.options.inbox.release(lease, progress).catch(() => undefined);
    throw handedBack ? new RetryLaterError(0, 'run handed back') : failure;
  }

  /** Lets the chat go; says whether another executor asked for it meanwhile. */
  private async release(
    holding: Holding,
    lease: Lease,
    writer: ChatWriter,
  ): Promise<{ wanted: boolean; inputsDone: number }> {
    const progress = { inputsDone: writer.inputsDone, position: writer.position };
    try {
      return { ...(await this.options.inbox.release(lease, progress)), inputsDone: progress.inputsDone };
    } catch (error) {
      // The lease runs out by itself; this request comes back once it has, and runs what is left.
      this.options.logger.warn(
        { error: errorMessage(error), chat_id: holding.chatId },
        'could not release a chat; it is taken up again when its lease expires',
      );
      throw new RetryLaterError(this.options.leaseMs, 'chat lease not released');
    }
  }

  /** Keeps `writer` as the chat's last, forgetting the least recently served chat beyond the limit. */
  private remember(key: string, writer: ChatWriter): void {
    this.writers.delete(key);
    this.writers.set(key, writer);
    if (this.writers.size > this.options.writerCacheSize) this.writers.delete(this.writers.keys().next().value!);
  }
}
