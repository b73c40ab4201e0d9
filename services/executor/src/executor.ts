// The executor: takes run requests from the bus, runs the chat's workflow turn by turn, persists
// what happens, and reports the run's raw usage. One run per chat at a time.
import type { Bus, BusMessage, Subscription } from '@mozaiks/bus';
import { runWorkflow } from '@mozaiks/engine';
import type { LlmClient } from '@mozaiks/engine';
import { RunRequest, describeIssues } from '@mozaiks/protocol';
import type { RawUsage, Subjects, Tenant } from '@mozaiks/protocol';
import type { ChatStore } from '@mozaiks/store';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { WorkflowNotFoundError, WorkflowValidationError, loadWorkflow } from '@mozaiks/workflows';
import { BusToolInvoker, PersistingEventSink, StoreChatState, publishChatEvent, stampEvent } from './chat-ports.js';
import type { ChatScope } from './chat-ports.js';

export interface ExecutorOptions {
  bus: Bus;
  store: ChatStore;
  llm: LlmClient;
  subjects: Subjects;
  workflowsDir: string;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Show the token's custom claims to the agents (CONTEXT_AWARE). @default false */
  contextAware?: boolean;
  /** Time a tool may take unless its workflow says otherwise. @default 30000 */
  toolTimeoutMs?: number;
}

export class Executor {
  private subscription: Subscription | undefined;
  /** The tail of each busy chat's queue of runs, so its turns run one at a time. */
  private readonly chatQueues = new Map<string, Promise<void>>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: ExecutorOptions) {}

  start(): void {
    this.subscription = this.options.bus.consume(this.options.subjects.allRuns, 'executors', (message) => this.accept(message));
  }

  /** Stops taking requests and waits for the runs in flight. */
  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async accept(message: BusMessage): Promise<void> {
    const parsed = RunRequest.safeParse(message.data);
    if (!parsed.success) {
      // A malformed request will never succeed: acknowledge it and say so.
      this.options.logger.error({ subject: message.subject, problem: describeIssues(parsed.error) }, 'dropped invalid run request');
      return;
    }
    const request = parsed.data;
    const key = `${request.app_id}\u0000${request.user_id}\u0000${request.chat_id}`;
    const previous = this.chatQueues.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.executeReported(request));
    const tail = run.catch(() => undefined);
    this.chatQueues.set(key, tail);
    this.running.add(tail);
    void tail.finally(() => {
      this.running.delete(tail);
      if (this.chatQueues.get(key) === tail) this.chatQueues.delete(key);
    });
    await run;
  }

  /**
   * Runs the request; a failure of the runtime itself (store, bus) is logged and told to the
   * client, and the request is not retried: running it again would repeat its user message.
   */
  private async executeReported(request: RunRequest): Promise<void> {
    try {
      await this.execute(request);
    } catch (error) {
      const { bus, subjects, logger, metrics } = this.options;
      logger.error(
        { app_id: request.app_id, user_id: request.user_id, workflow_id: request.workflow_id, chat_id: request.chat_id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
        'workflow execution failed inside the runtime',
      );
      metrics.workflowExecutions.inc({ workflow_id: request.workflow_id, status: 'failed' });
      const event = stampEvent(request.chat_id, {
        type: 'error',
        code: 'internal_error',
        message: 'the message could not be processed; it is logged for the operator. Send it again.',
        retryable: true,
        run_id: `run_${request.request_id}`,
      });
      await publishChatEvent(bus, subjects, { app_id: request.app_id, user_id: request.user_id }, event).catch(() => undefined);
    }
  }

  private async execute(request: RunRequest): Promise<void> {
    const { bus, store, subjects, metrics } = this.options;
    const tenant: Tenant = { app_id: request.app_id, user_id: request.user_id };
    const log = this.options.logger.child({ app_id: request.app_id, user_id: request.user_id, workflow_id: request.workflow_id, chat_id: request.chat_id });
    const runId = `run_${request.request_id}`;

    let workflow;
    try {
      workflow = loadWorkflow(this.options.workflowsDir, request.workflow_id);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError || error instanceof WorkflowValidationError)) throw error;
      log.warn({ code: error.code, error: error.message }, 'workflow cannot run');
      metrics.workflowExecutions.inc({ workflow_id: request.workflow_id, status: 'failed' });
      const message = error instanceof WorkflowNotFoundError ? `workflow "${request.workflow_id}" not found` : error.message;
      // Not persisted: the chat never started, so there is nothing to resume.
      const event = stampEvent(request.chat_id, { type: 'error', code: error.code, message, retryable: false, run_id: runId });
      await publishChatEvent(bus, subjects, tenant, event);
      return;
    }

    await store.ensureChat(tenant, request.chat_id, workflow.id);
    const scope: ChatScope = { tenant, chatId: request.chat_id, workflowId: workflow.id, context: request.context };
    log.info({ run_id: runId }, 'workflow execution started');
    const outcome = await runWorkflow(
      {
        workflow,
        runId,
        userMessage: request.content,
        ...(this.options.contextAware ? { context: request.context } : {}),
      },
      {
        llm: this.options.llm,
        tools: new BusToolInvoker(bus, subjects, scope, this.options.toolTimeoutMs ?? 30_000),
        events: new PersistingEventSink(store, bus, subjects, scope),
        chat: new StoreChatState(store, scope),
      },
    );
    metrics.workflowExecutions.inc({ workflow_id: workflow.id, status: outcome.status });
    metrics.workflowDuration.observe({ workflow_id: workflow.id }, outcome.duration_ms / 1000);
    if (outcome.error !== undefined && !(outcome.error instanceof Error && (outcome.error as { code?: string }).code === 'llm_error')) {
      log.error({ run_id: runId, error: outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error) }, 'workflow execution failed inside the runtime');
    }
    log.info({ run_id: runId, status: outcome.status, reason: outcome.reason, turns: outcome.turns, duration_ms: Math.round(outcome.duration_ms) }, 'workflow execution finished');

    const usage: RawUsage = {
      v: 1,
      run_id: runId,
      app_id: request.app_id,
      user_id: request.user_id,
      chat_id: request.chat_id,
      workflow_id: workflow.id,
      calls: outcome.calls,
      ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
      finished_at: new Date().toISOString(),
    };
    await bus.publish(subjects.usageRaw(request.app_id), usage, { msgId: runId });
  }
}
