// The executor: takes "this chat has work" nudges from the bus and, holding the chat's lease, runs
// the chat's pending inputs from its inbox in order. Every step is appended to the chat's log
// before it is published, so a run cut short (crash, drain) is continued by whichever executor
// next holds the lease; a writer whose lease was taken over can no longer append.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RetryLaterError } from '@mozaiks/bus';
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { LlmCallError, RunAbortedError, runWorkflow } from '@mozaiks/engine';
import type { LlmClient, RunInput } from '@mozaiks/engine';
import { PriceTable } from '@mozaiks/llm';
import { ChatControl, ChatNudge, describeIssues } from '@mozaiks/protocol';
import type { ChatControlReply, ErrorCode, Subjects, Tenant, UsageRecord, UsageUpdateEvent } from '@mozaiks/protocol';
import { LeaseLostError } from '@mozaiks/store';
import type { ChatInbox, ChatLog, ChatWriter, Lease, PendingInput } from '@mozaiks/store';
import { SpanKind, childTraceparent, startSpan, traceIdOf } from '@mozaiks/telemetry';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { WorkflowNotFoundError, WorkflowRegistry, WorkflowValidationError } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import { agentFactory } from './agent-classes.js';
import { BusToolInvoker, LogRunJournal } from './chat-ports.js';
import type { ChatScope } from './chat-ports.js';

export interface ExecutorOptions {
  bus: Bus;
  /** Chats' histories: read when a run starts, appended as it goes. */
  log: ChatLog;
  /** Chats' work: pending inputs, leases, the usage outbox. */
  inbox: ChatInbox;
  llm: LlmClient;
  /** Prices of the models, for each run's usage event (MODEL_PRICES). @default list prices */
  prices?: PriceTable;
  subjects: Subjects;
  workflowsDir: string;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Show the token's custom claims to the agents (CONTEXT_AWARE). @default false */
  contextAware?: boolean;
  /** Time a tool may take unless its workflow says otherwise. @default 30000 */
  toolTimeoutMs?: number;
  /** How long a chat's lease lasts without renewal; another executor takes over after it. @default 15000 */
  leaseMs?: number;
  /** How long `stop` lets runs finish before handing them back. @default 25000 */
  shutdownGraceMs?: number;
  /** This executor's name as a lease holder. @default host, pid and a random suffix */
  id?: string;
  /**
   * How often to look for chats with work nobody announced or holds (a gateway that died between
   * storing a message and publishing its request). @default 60000
   */
  sweepIntervalMs?: number;
  /** Where context variables with an `env_var` read their first value. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Chats served at once; more wait in the run queue (for this or another executor). @default 5000 */
  concurrency?: number;
  /** Chats whose last writer this process keeps, to read only what is new when they next run here. @default 1000 */
  writerCacheSize?: number;
}

/** What an agent-driven workflow's initial agent is told when its orchestrator.yaml gives no initial_message. */
export const DEFAULT_INITIAL_MESSAGE = 'The user has opened the chat. Begin the conversation.';

/** Inputs read from the inbox at a time. */
const PENDING_PAGE = 64;

/**
 * Delay before a nudge for a chat leased elsewhere is tried again. The holder was told the chat is
 * wanted and reads the inbox again as it lets go, so the retry is only for a holder that died.
 */
const BUSY_RETRY_MS = 1000;

/** A chat this process is serving. */
interface ActiveChat {
  /** Hands the chat's run back on stop. */
  readonly controller: AbortController;
  /**
   * Set by a nudge that arrived while the chat was served here: the inbox is read again before the
   * chat is let go. That nudge is acknowledged at once: the request being served stays
   * unacknowledged until then, and should this process die it comes back and reads the whole inbox.
   */
  wake: boolean;
  /** The highest input the waking nudges named; undefined when one named none (a sweep's). */
  wakeSeq: number | undefined;
  /** The run going now, and what cancels it. */
  current?: { runId: string; cancel: AbortController };
  /** Settles as the serving of the chat here ends: rejected when its request is to be delivered again. */
  served?: Promise<void>;
  /** Its runs are over and only its usage is still being published: a nudge now waits, then serves it anew. */
  settling?: boolean;
}

/** Notes a nudge for a chat served here. */
function wakeUp(chat: ActiveChat, inputSeq: number | undefined): void {
  chat.wakeSeq =
    inputSeq === undefined || (chat.wake && chat.wakeSeq === undefined)
      ? undefined
      : Math.max(chat.wakeSeq ?? 0, inputSeq);
  chat.wake = true;
}

/** Clears the wake-up, returning the input it named (undefined: read the inbox for all). */
function takeWake(chat: ActiveChat): number | undefined {
  const seq = chat.wakeSeq;
  chat.wake = false;
  chat.wakeSeq = undefined;
  return seq;
}

export class Executor {
  readonly id: string;
  private subscription: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Chats this process is serving, by chat key. */
  private readonly active = new Map<string, ActiveChat>();
  private readonly running = new Set<Promise<unknown>>();
  /**
   * The last writer this process had on each chat it served lately (least recently served first):
   * the next run of the chat here reads only what others committed since.
   */
  private readonly writers = new Map<string, ChatWriter>();
  /** Chats whose usage this process failed to publish: their outbox is read on the next run. */
  private readonly usageOwed = new Set<string>();
  private readonly workflows: WorkflowRegistry;
  private readonly prices: PriceTable;
  /** Models already reported as having no price. */
  private readonly unpriced = new Set<string>();
  /** The leases of the chats served here, renewed together. */
  private readonly leases: LeaseKeeper;

  constructor(private readonly options: ExecutorOptions) {
    this.workflows = new WorkflowRegistry(options.workflowsDir);
    this.prices = options.prices ?? new PriceTable();
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leases = new LeaseKeeper(options.inbox, options.leaseMs ?? 15_000);
  }

  /** Starts taking run requests, then asks for every chat left with pending work to be taken up. */
  async start(): Promise<void> {
    const { bus, subjects } = this.options;
    this.options.metrics.exposeRunsInFlight();
    this.subscription = bus.consume(
      subjects.allRuns,
      'executors',
      (message, attempt) => this.accept(message, attempt),
      {
        maxDeliver: Infinity,
        concurrency: this.options.concurrency ?? 5000,
      },
    );
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  /** Nudges every chat with work left and no lease holder. */
  private async sweep(): Promise<void> {
    const { bus, subjects, inbox, logger } = this.options;
    try {
      const leftovers = await inbox.chatsWithWork();
      for (const chat of leftovers) {
        const nudge: ChatNudge = {
          v: 1,
          app_id: chat.app_id,
          user_id: chat.user_id,
          chat_id: chat.chat_id,
          workflow_id: chat.workflow_id,
        };
        await bus.publish(subjects.run(chat.app_id, chat.workflow_id), nudge);
      }
      if (leftovers.length) logger.info({ chats: leftovers.length }, 'resuming chats with pending work');
    } catch (error) {
      logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'sweep for pending work failed; retrying later',
      );
    }
  }

  /**
   * Stops taking requests, lets runs in flight finish for the grace period, then hands the rest
   * back: each stops after its current step and its request goes to another executor.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    this.leases.stopWhenIdle();
    await this.subscription?.unsubscribe();
    const grace = new Promise((resolve) => setTimeout(resolve, this.options.shutdownGraceMs ?? 25_000).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    for (const chat of this.active.values()) chat.controller.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async accept(message: BusMessage, attempt: number): Promise<void> {
    const parsed = ChatNudge.safeParse(message.data);
    if (!parsed.success) {
      // A malformed nudge will never succeed: acknowledge it and say so.
      this.options.logger.error(
        { subject: message.subject, problem: describeIssues(parsed.error) },
        'dropped invalid run request',
      );
      return;
    }
    if (this.stopping) throw new RetryLaterError(0, 'executor is stopping');
    const nudge = parsed.data;
    const key = `${nudge.app_id}\u0000${nudge.user_id}\u0000${nudge.chat_id}`;
    let serving = this.active.get(key);
    while (serving?.settling) {
      // Its serving is only publishing usage: this request is served anew after it (reading what
      // that left unpublished, should it fail), not acknowledged beside it.
      await serving.served?.catch(() => undefined);
      serving = this.active.get(key);
    }
    if (this.stopping) throw new RetryLaterError(0, 'executor is stopping');
    if (serving) {
      // Served here already: that run reads the inbox again before letting the chat go.
      wakeUp(serving, nudge.input_seq);
      // A request delivered again may be the very one served here, back because its first delivery
      // could not be kept alive (NATS away): it ends as the serving ends, so a serving that fails
      // (its usage not published) is delivered again rather than acknowledged away.
      if (attempt > 1) await serving.served;
      return;
    }
    // Claimed in this process before the first await, so two nudges here never both serve it.
    const chat: ActiveChat = { controller: new AbortController(), wake: false, wakeSeq: undefined };
    this.active.set(key, chat);
    this.options.metrics.runsInFlight.inc();
    // A request delivered again may stand for nudges its first executor took in before it died:
    // it reads the whole inbox, not only the input it names.
    const work = this.serveChat(nudge, key, chat, attempt > 1 ? undefined : nudge.input_seq);
    chat.served = work;
    this.running.add(work);
    try {
      await work;
    } finally {
      this.running.delete(work);
      this.options.metrics.runsInFlight.dec();
    }
  }

  /**
   * Runs every pending input of the chat, in order, while holding its lease; and again whenever
   * someone asked for the chat while it was held, until its inbox has nothing left. The request is
   * acknowledged (this returns) once the usage of every run is published too.
   */
  private async serveChat(nudge: ChatNudge, key: string, chat: ActiveChat, first: number | undefined): Promise<void> {
    const tenant: Tenant = { app_id: nudge.app_id, user_id: nudge.user_id };
    // Usage is published beside the chat's next run and after its lease is let go: neither a
    // queued message nor the chat's next holder waits for a billing record.
    const usage = new UsageQueue(
      (events, traceparent) => this.publishUsage(tenant, nudge.chat_id, events, traceparent),
      () => this.usageOwed.add(key),
    );
    // While the chat is served here, its cancels come here.
    const control = this.options.bus.serve<ChatControl, ChatControlReply>(
      this.options.subjects.control(nudge.app_id, nudge.chat_id),
      async (message) => {
        const request = ChatControl.safeParse(message.data);
        const current = chat.current;
        if (
          !request.success ||
          request.data.user_id !== nudge.user_id ||
          !current ||
          (request.data.run_id !== undefined && request.data.run_id !== current.runId)
        ) {
          return { v: 1, run_id: null };
        }
        current.cancel.abort();
        this.options.logger.info(
          { app_id: nudge.app_id, user_id: nudge.user_id, chat_id: nudge.chat_id, run_id: current.runId },
          'run cancelled by the client',
        );
        return { v: 1, run_id: current.runId };
      },
    );
    let failure: { error: unknown } | undefined;
    try {
      let hint = first;
      for (;;) {
        const served = await this.serveLease(tenant, nudge.chat_id, nudge.workflow_id, key, hint, chat, usage);
        if (!served) throw new RetryLaterError(BUSY_RETRY_MS, 'chat is leased by another executor');
        if (chat.wake) {
          // A nudge came here while the chat was being let go: serve it, from the input it named
          // (everything waiting, if another executor asked too).
          const woken = takeWake(chat);
          hint = served.wanted ? undefined : woken;
          continue;
        }
        if (!served.wanted) break;
        // Another executor asked for the chat while it was held here: look once more.
        const more = await this.options.inbox.pending(tenant, nudge.chat_id, served.inputsDone, 1);
        hint = more[0]?.input_seq;
        // Decided in the same tick as the chat stops being served here, so no nudge falls between.
        if (more.length === 0 && !chat.wake) break;
        if (chat.wake) {
          // Woken meanwhile as well: read everything that waits.
          takeWake(chat);
          hint = undefined;
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      void control.unsubscribe();
    }
    // The chat's runs are over here; its usage is on its way. Unpublished usage stays in the
    // outbox: the request is delivered again to retry it.
    chat.settling = true;
    try {
      await usage.settled();
    } catch (error) {
      failure ??= { error };
    } finally {
      if (this.active.get(key) === chat) this.active.delete(key);
    }
    if (failure) throw failure.error;
  }

  /**
   * Takes the chat's lease, runs its pending inputs and lets it go. The lease, the inputs and the
   * history are read at once; the history only beyond this process's last writer on the chat.
   * Returns undefined when another holder has the chat.
   */
  private async serveLease(
    tenant: Tenant,
    chatId: string,
    workflowId: string,
    key: string,
    hint: number | undefined,
    chat: ActiveChat,
    usage: UsageQueue,
  ): Promise<{ wanted: boolean; inputsDone: number } | undefined> {
    const { inbox, log } = this.options;
    const leaseMs = this.options.leaseMs ?? 15_000;
    const previous = this.writers.get(key);
    const carriedPosition = previous?.position;
    // A nudge names its input: that one is read (every later input brings a nudge of its own,
    // which wakes this run or is told to the holder). A sweep's nudge reads a page.
    const after = hint !== undefined ? hint - 1 : (previous?.inputsDone ?? 0);
    const [lease, prefetched, early] = await Promise.all([
      inbox.acquire(tenant, chatId, this.id, leaseMs),
      log.prefetch(tenant, chatId, previous),
      inbox.pending(tenant, chatId, after, hint !== undefined ? 1 : PENDING_PAGE),
    ]);
    if (!lease) return undefined;
    const { controller } = chat;
    // Another executor took over (this one stalled past its lease): stop writing at once.
    const letGo = this.leases.hold(lease, () => controller.abort());
    let writer: ChatWriter | undefined;
    try {
      writer = await log.openWriter(lease, workflowId, { ...(previous ? { previous } : {}), prefetched });
      this.remember(key, writer);
      // Usage a run here or elsewhere left unpublished: only a chat someone else wrote, or whose
      // usage this process could not publish, can have any.
      const continued = carriedPosition !== undefined && carriedPosition === writer.position && !lease.takeover;
      if (!continued || this.usageOwed.has(key)) {
        this.usageOwed.delete(key);
        usage.add(() => inbox.unpublishedUsage(tenant, chatId));
      }
      const opened = writer;
      // The inputs read with the lease do if they start right after this chat's finished ones.
      let queue: PendingInput[];
      let complete: boolean;
      if (after <= opened.inputsDone) {
        queue = early.filter((i) => i.input_seq > opened.inputsDone);
        complete = hint !== undefined || early.length < PENDING_PAGE;
      } else {
        queue = await inbox.pending(tenant, chatId, opened.inputsDone, PENDING_PAGE);
        complete = queue.length < PENDING_PAGE;
      }
      for (;;) {
        for (const input of queue) {
          if (controller.signal.aborted) throw new RetryLaterError(0, 'run handed back');
          const billed = await this.runInput(opened, input, chat);
          if (billed) usage.add(async () => [billed], input.traceparent);
        }
        // More than a page waiting, or a nudge came meanwhile: read the inbox again.
        if (complete && !chat.wake) break;
        const woken = takeWake(chat);
        // The one input a nudge named is a lookup by id; anything else, a page.
        const next = woken !== undefined && woken === opened.inputsDone + 1 && complete;
        queue = await inbox.pending(tenant, chatId, opened.inputsDone, next ? 1 : PENDING_PAGE);
        complete = next || queue.length < PENDING_PAGE;
      }
    } catch (failure) {
      letGo();
      if (!(
        failure instanceof LeaseLostError ||
        failure instanceof RunAbortedError ||
        failure instanceof RetryLaterError
      )) {
        // Something went wrong mid-write: what this process knows of the chat may be short of the log.
        this.writers.delete(key);
      }
      // Handed back or failed: let the chat go for whoever takes the request up next.
      await inbox
        .release(lease, {
          inputsDone: writer?.inputsDone ?? lease.inputsDone,
          position: writer?.position ?? lease.position,
        })
        .catch(() => undefined);
      if (failure instanceof RunAbortedError || failure instanceof LeaseLostError)
        throw new RetryLaterError(0, 'run handed back');
      throw failure;
    }
    letGo();
    const progress = { inputsDone: writer.inputsDone, position: writer.position };
    try {
      return { ...(await inbox.release(lease, progress)), inputsDone: progress.inputsDone };
    } catch (error) {
      // The lease runs out by itself; this request comes back once it has, and runs what is left.
      this.options.logger.warn(
        { error: error instanceof Error ? error.message : String(error), chat_id: chatId },
        'could not release a chat; it is taken up again when its lease expires',
      );
      throw new RetryLaterError(leaseMs, 'chat lease not released');
    }
  }

  /** Keeps `writer` as the chat's last, forgetting the least recently served chat beyond the limit. */
  private remember(key: string, writer: ChatWriter): void {
    this.writers.delete(key);
    this.writers.set(key, writer);
    if (this.writers.size > (this.options.writerCacheSize ?? 1000))
      this.writers.delete(this.writers.keys().next().value!);
  }

  /** Runs one input in a span of the user message's trace: its LLM calls and tool calls are its children. */
  private async runInput(
    writer: ChatWriter,
    input: PendingInput,
    serving: ActiveChat,
  ): Promise<UsageUpdateEvent | undefined> {
    const chat = writer.chat;
    const span = startSpan(`workflow.run ${input.workflow_id}`, {
      ...(input.traceparent ? { parent: input.traceparent } : {}),
      kind: SpanKind.CONSUMER,
      attributes: {
        'mozaiks.app_id': chat.app_id,
        'mozaiks.user_id': chat.user_id,
        'mozaiks.chat_id': chat.chat_id,
        'mozaiks.workflow_id': input.workflow_id,
        'mozaiks.run_id': `run_${input.request_id}`,
        'messaging.system': 'nats',
      },
    });
    try {
      const billed = await span.within(() =>
        this.runInputTraced(writer, { ...input, traceparent: span.traceparent }, serving),
      );
      span.end(
        billed
          ? {
              'gen_ai.usage.input_tokens': billed.tokens.prompt_tokens,
              'gen_ai.usage.output_tokens': billed.tokens.completion_tokens,
              'mozaiks.cost_usd': billed.cost_usd,
            }
          : undefined,
      );
      return billed;
    } catch (error) {
      span.fail(error);
      throw error;
    }
  }

  /** Runs one input; returns the usage event its run persisted, to publish for billing. */
  private async runInputTraced(
    writer: ChatWriter,
    input: PendingInput,
    serving: ActiveChat,
  ): Promise<UsageUpdateEvent | undefined> {
    const signal = serving.controller.signal;
    const { bus, subjects, metrics } = this.options;
    const chat = writer.chat;
    const tenant: Tenant = { app_id: chat.app_id, user_id: chat.user_id };
    const chatId = chat.chat_id;
    const runId = `run_${input.request_id}`;
    const log = this.options.logger.child({
      app_id: tenant.app_id,
      user_id: tenant.user_id,
      workflow_id: input.workflow_id,
      chat_id: chatId,
      run_id: runId,
      ...(input.traceparent ? { trace_id: traceIdOf(input.traceparent) } : {}),
    });
    const run = writer.unfinishedRun?.run_id === runId ? writer.unfinishedRun : undefined;
    const scope: ChatScope = {
      tenant,
      chatId,
      workflowId: input.workflow_id,
      context: input.context,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    };
    const journal = new LogRunJournal(writer, bus, subjects, scope, runId, input, this.prices, run?.calls);
    /** Ends an input that runs nothing, silently: no events, nothing to bill. */
    const closeUnrun = async (status: 'completed' | 'failed') => void (await journal.close(status));
    /** Ends a run that cannot start like any failed run, so a client waiting for its end is not left waiting. */
    const failUnrun = async (code: ErrorCode, message: string) => {
      log.warn({ code, error: message }, 'workflow cannot run');
      metrics.workflowExecutions.inc({ workflow_id: input.workflow_id, status: 'failed' });
      await journal.commit({
        events: [
          { type: 'error', code, message, retryable: false, run_id: runId },
          {
            type: 'workflow_complete',
            run_id: runId,
            workflow_id: input.workflow_id,
            status: 'failed',
            reason: 'error',
            turns: 0,
            duration_ms: 0,
          },
        ],
        finish: 'failed',
      });
      return journal.usageEvent;
    };

    let workflow;
    try {
      workflow = this.workflows.get(input.workflow_id);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError || error instanceof WorkflowValidationError)) throw error;
      if (input.kind === 'open') {
        // Said when the user sends a message, where it answers something.
        return closeUnrun('failed');
      }
      const message =
        error instanceof WorkflowNotFoundError ? `workflow "${input.workflow_id}" not found` : error.message;
      return failUnrun(error.code, message);
    }

    // The chat opened, and this workflow waits for the user: nothing runs, nothing is billed.
    if (input.kind === 'open' && workflow.startup_mode === 'UserDriven') return closeUnrun('completed');
    log.info(run ? 'workflow execution resumed' : 'workflow execution started');
    const stored = chat.context;
    let createAgent;
    try {
      createAgent = await agentFactory(workflow);
    } catch (error) {
      return failUnrun('workflow_invalid', error instanceof Error ? error.message : String(error));
    }
    let outcome;
    const cancel = new AbortController();
    serving.current = { runId, cancel };
    // Failed and retried LLM calls are logged with the run's ids.
    const llm: LlmClient = { complete: (request, options) => this.options.llm.complete(request, { ...options, log }) };
    try {
      outcome = await runWorkflow(
        {
          workflow,
          runId,
          signal,
          cancel: cancel.signal,
          ...runStart(workflow, input),
          claims: input.context,
          env: this.options.env ?? process.env,
          ...(stored ? { variables: stored } : {}),
          ...(this.options.contextAware ? { context: input.context } : {}),
        },
        {
          llm,
          tools: new BusToolInvoker(bus, subjects, scope, runId, this.options.toolTimeoutMs ?? 30_000),
          journal,
          ...(createAgent ? { createAgent } : {}),
        },
      );
    } catch (error) {
      if (error instanceof RunAbortedError) log.info('workflow execution handed back; another executor continues it');
      throw error;
    } finally {
      serving.current = undefined;
    }
    if (outcome.error !== undefined && !(outcome.error instanceof LlmCallError)) {
      log.error(
        {
          error:
            outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error),
        },
        'workflow execution failed inside the runtime',
      );
    }
    metrics.workflowExecutions.inc({ workflow_id: workflow.id, status: outcome.status });
    metrics.workflowDuration.observe({ workflow_id: workflow.id }, outcome.duration_ms / 1000);
    log.info(
      {
        status: outcome.status,
        reason: outcome.reason,
        turns: outcome.turns,
        duration_ms: Math.round(outcome.duration_ms),
      },
      'workflow execution finished',
    );
    return journal.usageEvent;
  }

  /** Publishes usage events of the chat for billing (each once, by run id), then takes them out of its outbox. */
  private async publishUsage(
    tenant: Tenant,
    chatId: string,
    events: readonly UsageUpdateEvent[],
    traceparent?: string,
  ): Promise<void> {
    const { bus, inbox, subjects } = this.options;
    for (const event of events) {
      for (const m of event.models) {
        if (!this.prices.priceOf(m.model) && !this.unpriced.has(m.model)) {
          this.unpriced.add(m.model);
          this.options.logger.warn(
            { model: m.model },
            'model has no price; its cost is reported as 0 (set MODEL_PRICES)',
          );
        }
      }
      const record: UsageRecord = { v: 1, event };
      // Each billing record continues the trace of the message whose run it bills.
      await bus.publish(subjects.metering(event.app_id), record, {
        msgId: event.run_id,
        headers: { traceparent: childTraceparent(traceparent, `publish ${subjects.allMetering}`) },
      });
      await inbox.markUsagePublished(tenant, chatId, event.event_id);
    }
  }
}

/** How an input starts its run: with the user's words, or (ManualPattern) with the agent the user chose. */
function runStart(
  workflow: WorkflowDefinition,
  input: PendingInput,
): Pick<RunInput, 'userMessage' | 'startWith' | 'fromUser' | 'uiResponse'> {
  // An agent-driven chat starts with the workflow's initial message, as if the user had sent it.
  if (input.kind === 'open') return { userMessage: workflow.initial_message ?? DEFAULT_INITIAL_MESSAGE };
  if (input.kind !== 'input' || !input.answers) return { userMessage: input.content, fromUser: true };
  // A UI tool's response is the result of the call the chat waited on; its agent goes on.
  if (input.answers.tool_call_id) {
    return {
      uiResponse: { tool_call_id: input.answers.tool_call_id, response: parseResponse(input.content) },
      startWith: input.answers.agent,
    };
  }
  const chosen =
    workflow.orchestration_pattern === 'ManualPattern'
      ? workflow.agents.find((a) => a.name.toLowerCase() === input.content.trim().toLowerCase())
      : undefined;
  // Naming an agent gives it the floor; anything else is said to the agent that asked (unless rules from `user` route it).
  return chosen
    ? { startWith: chosen.name }
    : { userMessage: input.content, startWith: input.answers.agent, fromUser: true };
}

/** A UI tool's response as the gateway stored it (JSON of an object). */
function parseResponse(content: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(content);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    return { value: content };
  }
}

/** Leases renewed together in batches of this many (one store write each). */
const RENEW_BATCH = 500;

/**
 * Renews every lease an executor holds, all at once every third of the lease time: a store write
 * per batch of chats, not a timer and a write per chat.
 */
class LeaseKeeper {
  /** Held leases, each with what stops its run when it turns out to be lost. */
  private readonly held = new Map<Lease, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private stopping = false;

  constructor(
    private readonly inbox: ChatInbox,
    private readonly leaseMs: number,
  ) {}

  /** Keeps `lease` renewed until the returned function is called; `lost` is called if it is taken over. */
  hold(lease: Lease, lost: () => void): () => void {
    this.held.set(lease, lost);
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.leaseMs / 3))).unref();
    return () => {
      this.held.delete(lease);
      if (this.held.size === 0 && this.stopping) this.stopTimer();
    };
  }

  /** Stops the timer once no lease is held (the executor is stopping). */
  stopWhenIdle(): void {
    this.stopping = true;
    if (this.held.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renewAll(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const leases = [...this.held.keys()];
      for (let i = 0; i < leases.length; i += RENEW_BATCH) {
        const batch = leases.slice(i, i + RENEW_BATCH);
        // A store that cannot be reached: the leases run out by themselves, and the writes they fence fail.
        const renewed = await this.inbox.renew(batch, this.leaseMs).catch(() => undefined);
        renewed?.forEach((ok, j) => {
          if (!ok) this.held.get(batch[j]!)?.();
        });
      }
    } finally {
      this.renewing = false;
    }
  }
}

/** A chat's usage events on their way to billing, published one batch at a time, in order. */
class UsageQueue {
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly publish: (events: UsageUpdateEvent[], traceparent?: string) => Promise<void>,
    private readonly onFailure: () => void,
  ) {}

  /** Publishes what `load` returns once the batches before it are out; nothing after a failure. */
  add(load: () => Promise<UsageUpdateEvent[]>, traceparent?: string): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.publish(await load(), traceparent);
      } catch (error) {
        this.failure = { error };
        this.onFailure();
      }
    });
  }

  /** Resolves when everything added is published; rejects with the first failure. */
  async settled(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure.error;
  }
}
