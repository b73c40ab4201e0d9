// Runs one input of a chat: the version of the workflow the chat runs is loaded (workflow-choice.ts),
// the engine's ports are made on the chat's writer and the bus, and the run is traced as a child
// of the user message's trace. An input that cannot run (no such workflow, a broken one, an answer
// for an agent the chat's new version removed) ends like a failed run, so a client waiting for its
// end is not left waiting.
import { FairGate, errorMessage } from '@mozaiks/common';
import { LlmCallError, RunAbortedError, runWorkflow } from '@mozaiks/engine';
import type { LlmClient, RunInput, RunOutcome } from '@mozaiks/engine';
import { ErrorCode } from '@mozaiks/protocol';
import type { Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatWriter, PendingInput } from '@mozaiks/store';
import { SpanKind, startSpan, traceIdOf } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { WorkflowVersions } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { ChatMessage } from '@mozaiks/engine';
import type { ActiveChat } from './active-chat.js';
import { agentFactory } from './agent-classes.js';
import { BusToolInvoker } from './bus-tool-invoker.js';
import type { ExecutorOptionsWithDefaults } from './executor-options.js';
import { LogRunJournal } from './run-journal.js';
import type { ChatScope } from './run-journal.js';
import { chooseVersion, strandedAgent } from './workflow-choice.js';
import type { VersionChoice } from './workflow-choice.js';

/** Commits under way at once (their store work is synchronous on SQLite: more at once only queue in the event loop). */
const COMMITTING_AT_ONCE = 8;
/**
 * Model replies that resume their runs in one turn of the event loop. A thousand replies arriving
 * together would otherwise each run on to their commit in the turn they arrived in, back to back,
 * and another app's reply, read in the same turn, would wait for all of them.
 */
const RESUMING_PER_TICK = 16;

/** What an agent-driven workflow's initial agent is told when its orchestrator.yaml gives no initial_message. */
export const DEFAULT_INITIAL_MESSAGE = 'The user has opened the chat. Begin the conversation.';

/** One input about to run: its chat's writer, the chat served here, and what its run writes with. */
interface InputRun {
  writer: ChatWriter;
  input: PendingInput;
  serving: ActiveChat;
  runId: string;
  log: Logger;
  scope: ChatScope;
  journal: LogRunJournal;
}

export class InputRunner {
  private readonly workflows: WorkflowVersions;
  /** The runs' commits, a few at a time, in turn across apps and users: one app's burst does not hold another's reply. */
  private readonly commits = new FairGate({ concurrency: COMMITTING_AT_ONCE, perTick: COMMITTING_AT_ONCE });
  /** Model replies resuming their runs, a few per turn, in turn across apps and users. */
  private readonly resuming = new FairGate({ concurrency: Infinity, perTick: RESUMING_PER_TICK });

  constructor(private readonly options: ExecutorOptionsWithDefaults) {
    this.workflows = new WorkflowVersions({
      workflowsDir: options.workflowsDir,
      source: options.versions,
    });
  }

  /**
   * Loads the current version of every workflow in the folder, the first chat's included, before
   * any chat is taken: loading one blocks the process (its files read and checked) for 50–150 ms,
   * which under a burst every chat here would wait for. A workflow that cannot be loaded is named
   * in a warning; a chat of it ends with the same error as before.
   */
  async warmUp(): Promise<void> {
    const started = performance.now();
    const failed = await this.workflows.warmUp();
    for (const { workflowId, error } of failed)
      this.options.logger.warn({ workflow_id: workflowId, error: errorMessage(error) }, 'workflow cannot be loaded');
    this.options.logger.debug({ ms: Math.round(performance.now() - started) }, 'workflows loaded');
  }

  /**
   * Runs one input in a span of the user message's trace (its LLM calls and tool calls are its
   * children); returns the usage event its run persisted, to publish for billing.
   */
  async run(writer: ChatWriter, input: PendingInput, serving: ActiveChat): Promise<UsageUpdateEvent | undefined> {
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
      const traced = { ...input, traceparent: span.traceparent };
      let version: string | undefined;
      const billed = await span.within(async () => {
        const choice = await chooseVersion(this.workflows, input.workflow_id, chat);
        version = choice.ok ? choice.workflow.version : undefined;
        return this.runTraced(this.prepare(writer, traced, serving, version), choice);
      });
      span.end({
        ...(version ? { 'mozaiks.workflow_version': version } : {}),
        ...(billed
          ? {
              'gen_ai.usage.input_tokens': billed.tokens.prompt_tokens,
              'gen_ai.usage.output_tokens': billed.tokens.completion_tokens,
              'mozaiks.cost_usd': billed.cost_usd,
            }
          : {}),
      });
      return billed;
    } catch (error) {
      span.fail(error);
      throw error;
    }
  }

  /** The input's run id, logger, scope and journal, for the workflow version it runs (if one could be loaded). */
  private prepare(writer: ChatWriter, input: PendingInput, serving: ActiveChat, version: string | undefined): InputRun {
    const { bus, subjects, prices } = this.options;
    const chat = writer.chat;
    const tenant: Tenant = { app_id: chat.app_id, user_id: chat.user_id };
    const runId = `run_${input.request_id}`;
    const log = this.options.logger.child({
      app_id: tenant.app_id,
      user_id: tenant.user_id,
      workflow_id: input.workflow_id,
      ...(version ? { workflow_version: version } : {}),
      chat_id: chat.chat_id,
      run_id: runId,
      ...(input.traceparent ? { trace_id: traceIdOf(input.traceparent) } : {}),
    });
    const scope: ChatScope = {
      tenant,
      chatId: chat.chat_id,
      workflowId: input.workflow_id,
      ...(version ? { workflowVersion: version } : {}),
      context: input.context,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    };
    const earlier = writer.unfinishedRun?.run_id === runId ? writer.unfinishedRun.calls : undefined;
    const journal = new LogRunJournal(writer, bus, subjects, scope, runId, input, prices, earlier, this.commits);
    return { writer, input, serving, runId, log, scope, journal };
  }

  /** Runs the input; returns the usage event its run persisted, to publish for billing. */
  private async runTraced(run: InputRun, choice: VersionChoice): Promise<UsageUpdateEvent | undefined> {
    const { input, journal, log } = run;
    if (!choice.ok) {
      // An opening that cannot run is said when the user sends a message, where it answers something.
      if (input.kind === 'open') return void (await journal.close('failed'));
      return this.failUnrun(run, choice.code, choice.message);
    }
    const workflow = choice.workflow.definition;
    const stranded = choice.movedFrom && strandedAgent(input, choice.workflow);
    if (stranded) return this.workflowChanged(run, choice.movedFrom!, stranded);
    // The chat opened, and this workflow waits for the user: nothing runs, nothing is billed.
    if (input.kind === 'open' && workflow.startup_mode === 'UserDriven') return void (await journal.close('completed'));
    const resumed = run.writer.unfinishedRun?.run_id === run.runId;
    log.info(resumed ? 'workflow execution resumed' : 'workflow execution started');
    let createAgent;
    try {
      createAgent = await agentFactory(workflow);
    } catch (error) {
      return this.failUnrun(run, 'workflow_invalid', errorMessage(error));
    }
    const outcome = await this.execute(run, workflow, createAgent);
    this.finished(run, workflow, outcome);
    return journal.usageEvent;
  }

  /** The engine's run of the input, cancellable by the client while it goes. */
  private async execute(
    run: InputRun,
    workflow: WorkflowDefinition,
    createAgent: Awaited<ReturnType<typeof agentFactory>>,
  ): Promise<RunOutcome> {
    const { input, serving, runId, log, scope, journal, writer } = run;
    const { bus, subjects } = this.options;
    const cancel = new AbortController();
    serving.current = { runId, cancel };
    // Failed and retried LLM calls are logged with the run's ids; a reply resumes its run when its turn comes.
    const { app_id, user_id } = scope.tenant;
    const llm: LlmClient = {
      complete: async (request, options) => {
        const reply = await this.options.llm.complete(request, { ...options, log });
        await this.resuming.turn(app_id, user_id);
        return reply;
      },
    };
    const stored = writer.chat.context;
    try {
      return await runWorkflow(
        {
          workflow,
          runId,
          signal: serving.controller.signal,
          cancel: cancel.signal,
          ...runStart(workflow, input),
          claims: input.context,
          env: this.options.env,
          ...(stored ? { variables: stored } : {}),
          ...(this.options.contextAware ? { context: input.context } : {}),
        },
        {
          llm,
          tools: new BusToolInvoker(bus, subjects, scope, runId, this.options.toolTimeoutMs),
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
  }

  /** Logs and counts a finished run. */
  private finished({ log, scope }: InputRun, workflow: WorkflowDefinition, outcome: RunOutcome): void {
    const { metrics } = this.options;
    if (outcome.error !== undefined && !(outcome.error instanceof LlmCallError)) {
      const error =
        outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error);
      log.error({ error }, 'workflow execution failed inside the runtime');
    }
    const labels = { workflow_id: workflow.id, workflow_version: scope.workflowVersion ?? '' };
    metrics.workflowExecutions.inc({ ...labels, status: outcome.status });
    metrics.workflowDuration.observe(labels, outcome.duration_ms / 1000);
    const { status, reason, turns } = outcome;
    log.info({ status, reason, turns, duration_ms: Math.round(outcome.duration_ms) }, 'workflow execution finished');
  }

  /** The answer's agent is gone from the chat's new version: said as `workflow_changed`, the answer kept. */
  private workflowChanged(run: InputRun, from: string, agent: string) {
    const { input, runId, scope } = run;
    const message = changedMessage(input.workflow_id, from, scope.workflowVersion, agent);
    return this.failUnrun(run, ErrorCode.WorkflowChanged, message, [
      { role: 'user', content: input.content, run_id: runId },
    ]);
  }

  /** Ends a run that cannot start like any failed run, so a client waiting for its end is not left waiting. */
  private async failUnrun(
    { input, runId, log, journal, scope }: InputRun,
    code: ErrorCode,
    message: string,
    messages: ChatMessage[] = [],
  ) {
    log.warn({ code, error: message }, 'workflow cannot run');
    const version = scope.workflowVersion ?? '';
    this.options.metrics.workflowExecutions.inc({
      workflow_id: input.workflow_id,
      workflow_version: version,
      status: 'failed',
    });
    const complete = {
      run_id: runId,
      workflow_id: input.workflow_id,
      status: 'failed' as const,
      reason: 'error' as const,
    };
    await journal.commit({
      ...(messages.length ? { messages } : {}),
      events: [
        { type: 'error', code, message, retryable: false, run_id: runId },
        { type: 'workflow_complete', ...complete, turns: 0, duration_ms: 0 },
      ],
      finish: 'failed',
    });
    return journal.usageEvent;
  }
}

/** What a client is told when the agent its answer was for is gone from the chat's new version (`latest`). */
function changedMessage(workflowId: string, from: string, to: string | undefined, agent: string): string {
  return `workflow "${workflowId}" changed (version ${from} to ${to}) while this chat waited for ${agent}, which the new version does not have: the answer is kept in the conversation; send a message to go on with the new version`;
}

/** How an input starts its run: with the user's words, or (ManualPattern) with the agent the user chose. */
export function runStart(
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
