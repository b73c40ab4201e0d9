// The executor: takes "this chat has work" nudges from the bus and, holding the chat's lease, runs
// the chat's pending inputs from its inbox in order. Every step is appended to the chat's log
// before it is published, so a run cut short (crash, drain) is continued by whichever executor
// next holds the lease; a writer whose lease was taken over can no longer append.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RetryLaterError } from '@mozaiks/bus';
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { RunAbortedError, runWorkflow } from '@mozaiks/engine';
import type { LlmClient } from '@mozaiks/engine';
import { PriceTable } from '@mozaiks/llm';
import { ChatNudge, describeIssues, usageEventId } from '@mozaiks/protocol';
import type { ErrorCode, Subjects, Tenant, UsageRecord } from '@mozaiks/protocol';
import { LeaseLostError } from '@mozaiks/store';
import type { ChatInbox, ChatLog, ChatWriter, PendingInput } from '@mozaiks/store';
import { childTraceparent, traceIdOf } from '@mozaiks/telemetry';
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
}

/** What an agent-driven workflow's initial agent is told when its orchestrator.yaml gives no initial_message. */
export const DEFAULT_INITIAL_MESSAGE = 'The user has opened the chat. Begin the conversation.';

/** Delay before a request for a chat leased elsewhere is tried again. */
const BUSY_RETRY_MS = 1000;

export class Executor {
  readonly id: string;
  private subscription: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Chats this process is working on, with the controller that hands their run back on stop. */
  private readonly active = new Map<string, AbortController>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly workflows: WorkflowRegistry;
  private readonly prices: PriceTable;
  /** Models already reported as having no price. */
  private readonly unpriced = new Set<string>();

  constructor(private readonly options: ExecutorOptions) {
    this.workflows = new WorkflowRegistry(options.workflowsDir);
    this.prices = options.prices ?? new PriceTable();
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  /** Starts taking run requests, then asks for every chat left with pending work to be taken up. */
  async start(): Promise<void> {
    const { bus, subjects } = this.options;
    this.subscription = bus.consume(subjects.allRuns, 'executors', (message) => this.accept(message), { maxDeliver: Infinity });
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
        const nudge: ChatNudge = { v: 1, app_id: chat.app_id, user_id: chat.user_id, chat_id: chat.chat_id, workflow_id: chat.workflow_id };
        await bus.publish(subjects.run(chat.app_id, chat.workflow_id), nudge);
      }
      if (leftovers.length) logger.info({ chats: leftovers.length }, 'resuming chats with pending work');
    } catch (error) {
      logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'sweep for pending work failed; retrying later');
    }
  }

  /**
   * Stops taking requests, lets runs in flight finish for the grace period, then hands the rest
   * back: each stops after its current step and its request goes to another executor.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    await this.subscription?.unsubscribe();
    const grace = new Promise((resolve) => setTimeout(resolve, this.options.shutdownGraceMs ?? 25_000).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    for (const controller of this.active.values()) controller.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async accept(message: BusMessage): Promise<void> {
    const parsed = ChatNudge.safeParse(message.data);
    if (!parsed.success) {
      // A malformed nudge will never succeed: acknowledge it and say so.
      this.options.logger.error({ subject: message.subject, problem: describeIssues(parsed.error) }, 'dropped invalid run request');
      return;
    }
    if (this.stopping) throw new RetryLaterError(0, 'executor is stopping');
    const work = this.serveChat(parsed.data);
    this.running.add(work);
    try {
      await work;
    } finally {
      this.running.delete(work);
    }
  }

  /** Runs every pending input of the chat, in order, while holding its lease. */
  private async serveChat(nudge: ChatNudge): Promise<void> {
    const { inbox, log } = this.options;
    const tenant: Tenant = { app_id: nudge.app_id, user_id: nudge.user_id };
    const chatId = nudge.chat_id;
    const key = `${tenant.app_id}\u0000${tenant.user_id}\u0000${chatId}`;
    if (this.active.has(key)) throw new RetryLaterError(BUSY_RETRY_MS, 'chat is being served by this executor');
    // Claimed in this process before the first await, so two nudges here never both serve it.
    const controller = new AbortController();
    this.active.set(key, controller);
    const leaseMs = this.options.leaseMs ?? 15_000;
    let lease;
    try {
      lease = await inbox.acquire(tenant, chatId, this.id, leaseMs);
    } finally {
      if (!lease) this.active.delete(key);
    }
    if (!lease) throw new RetryLaterError(BUSY_RETRY_MS, 'chat is leased by another executor');
    const held = lease;
    const renew = setInterval(() => {
      void inbox.renew(held, leaseMs).then(
        (ok) => {
          // Another executor took over (this one stalled past its lease): stop writing at once.
          if (!ok) controller.abort();
        },
        () => undefined,
      );
    }, Math.max(100, Math.floor(leaseMs / 3)));
    let writer: ChatWriter | undefined;
    // Usage goes out beside the next run rather than before it: a queued message does not wait
    // for the previous run's billing record.
    let usageError: unknown;
    // Each billing record continues the trace of the message whose run it bills.
    const traces = new Map<string, string>();
    const publishUsage = () => this.publishUsage(tenant, chatId, traces).catch((error: unknown) => void (usageError ??= error));
    let usage: Promise<void> = Promise.resolve();
    try {
      const [opened, first] = await Promise.all([log.openWriter(lease, nudge.workflow_id), inbox.pending(tenant, chatId, lease.inputsDone)]);
      writer = opened;
      usage = publishUsage();
      let queue = first.filter((i) => i.input_seq > opened.inputsDone);
      while (queue.length > 0) {
        for (const input of queue) {
          if (controller.signal.aborted) throw new RetryLaterError(0, 'run handed back');
          if (input.traceparent) traces.set(usageEventId(`run_${input.request_id}`), input.traceparent);
          await this.runInput(opened, input, controller.signal);
          usage = usage.then(publishUsage);
        }
        // Messages that arrived meanwhile found the lease taken: run them now.
        queue = await inbox.pending(tenant, chatId, opened.inputsDone);
      }
      await usage;
      // Unpublished usage stays in the outbox: the nudge is delivered again to retry it.
      if (usageError !== undefined) throw usageError;
    } catch (error) {
      if (error instanceof RunAbortedError || error instanceof LeaseLostError) throw new RetryLaterError(0, 'run handed back');
      throw error;
    } finally {
      await usage;
      clearInterval(renew);
      this.active.delete(key);
      await inbox.release(lease, writer?.inputsDone ?? lease.inputsDone).catch(() => undefined);
    }
  }

  private async runInput(writer: ChatWriter, input: PendingInput, signal: AbortSignal): Promise<void> {
    const { bus, subjects, metrics } = this.options;
    const chat = writer.chat;
    const tenant: Tenant = { app_id: chat.app_id, user_id: chat.user_id };
    const chatId = chat.chat_id;
    const runId = `run_${input.request_id}`;
    const log = this.options.logger.child({
      app_id: tenant.app_id, user_id: tenant.user_id, workflow_id: input.workflow_id, chat_id: chatId, run_id: runId,
      ...(input.traceparent ? { trace_id: traceIdOf(input.traceparent) } : {}),
    });
    const run = writer.unfinishedRun?.run_id === runId ? writer.unfinishedRun : undefined;
    const scope: ChatScope = { tenant, chatId, workflowId: input.workflow_id, context: input.context, ...(input.traceparent ? { traceparent: input.traceparent } : {}) };
    const journal = new LogRunJournal(writer, bus, subjects, scope, runId, input, this.prices, run?.calls);
    /** Ends an input that runs nothing, silently: no events, nothing to bill. */
    const closeUnrun = (status: 'completed' | 'failed') => journal.close(status);
    /** Ends a run that cannot start like any failed run, so a client waiting for its end is not left waiting. */
    const failUnrun = async (code: ErrorCode, message: string) => {
      log.warn({ code, error: message }, 'workflow cannot run');
      metrics.workflowExecutions.inc({ workflow_id: input.workflow_id, status: 'failed' });
      await journal.commit({
        events: [
          { type: 'error', code, message, retryable: false, run_id: runId },
          { type: 'workflow_complete', run_id: runId, workflow_id: input.workflow_id, status: 'failed', reason: 'error', turns: 0, duration_ms: 0 },
        ],
        finish: 'failed',
      });
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
      const message = error instanceof WorkflowNotFoundError ? `workflow "${input.workflow_id}" not found` : error.message;
      return failUnrun(error.code, message);
    }

    // The chat opened, and this workflow waits for the user: nothing runs, nothing is billed.
    if (input.kind === 'open' && workflow.startup_mode !== 'AgentDriven') return closeUnrun('completed');
    log.info(run ? 'workflow execution resumed' : 'workflow execution started');
    const stored = chat.context;
    let createAgent;
    try {
      createAgent = await agentFactory(workflow);
    } catch (error) {
      return failUnrun('workflow_invalid', error instanceof Error ? error.message : String(error));
    }
    let outcome;
    try {
      outcome = await runWorkflow(
        {
          workflow, runId, signal,
          ...runStart(workflow, input),
          claims: input.context,
          ...(stored ? { variables: stored } : {}),
          ...(this.options.contextAware ? { context: input.context } : {}),
        },
        { llm: this.options.llm, tools: new BusToolInvoker(bus, subjects, scope, this.options.toolTimeoutMs ?? 30_000), journal, ...(createAgent ? { createAgent } : {}) },
      );
    } catch (error) {
      if (error instanceof RunAbortedError) log.info('workflow execution handed back; another executor continues it');
      throw error;
    }
    if (outcome.error !== undefined && (outcome.error as { code?: string }).code !== 'llm_error') {
      log.error({ error: outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error) }, 'workflow execution failed inside the runtime');
    }
    metrics.workflowExecutions.inc({ workflow_id: workflow.id, status: outcome.status });
    metrics.workflowDuration.observe({ workflow_id: workflow.id }, outcome.duration_ms / 1000);
    log.info({ status: outcome.status, reason: outcome.reason, turns: outcome.turns, duration_ms: Math.round(outcome.duration_ms) }, 'workflow execution finished');
  }

  /** Publishes the chat's usage events still in its outbox for billing (each once, by event id). */
  private async publishUsage(tenant: Tenant, chatId: string, traces: ReadonlyMap<string, string>): Promise<void> {
    const { bus, inbox, subjects } = this.options;
    for (const event of await inbox.unpublishedUsage(tenant, chatId)) {
      for (const m of event.models) {
        if (!this.prices.priceOf(m.model) && !this.unpriced.has(m.model)) {
          this.unpriced.add(m.model);
          this.options.logger.warn({ model: m.model }, 'model has no price; its cost is reported as 0 (set MODEL_PRICES)');
        }
      }
      const record: UsageRecord = { v: 1, event };
      await bus.publish(subjects.metering(event.app_id), record, { msgId: event.run_id, headers: { traceparent: childTraceparent(traces.get(event.event_id)) } });
      await inbox.markUsagePublished(tenant, chatId, event.event_id);
    }
  }
}

/** How an input starts its run: with the user's words, or (ManualPattern) with the agent the user chose. */
function runStart(workflow: WorkflowDefinition, input: PendingInput): { userMessage?: string; startWith?: string } {
  // An agent-driven chat starts with the workflow's initial message, as if the user had sent it.
  if (input.kind === 'open') return { userMessage: workflow.initial_message ?? DEFAULT_INITIAL_MESSAGE };
  if (input.kind !== 'input' || !input.answers) return { userMessage: input.content };
  const chosen = workflow.orchestration_pattern === 'ManualPattern' ? workflow.agents.find((a) => a.name.toLowerCase() === input.content.trim().toLowerCase()) : undefined;
  // Naming an agent gives it the floor; anything else is said to the agent that asked.
  return chosen ? { startWith: chosen.name } : { userMessage: input.content, startWith: input.answers.agent };
}
