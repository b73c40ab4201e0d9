// One execution of a workflow: the user's message goes into the chat, then agents take turns as
// the pattern says, each replying through the LLM and calling its tools, until the run ends.
// Every step is committed before the next begins, so a run started again after a crash (same
// run id) continues from its last committed step: no reply is produced twice, none is lost.
import { ErrorCode, RuntimeError } from '@mozaiks/protocol';
import type { CompletionReason, EventBody, LlmCallUsage } from '@mozaiks/protocol';
import type { LifecycleToolDefinition } from '@mozaiks/workflows';
import { ConversableAgent } from '../conversable-agent.js';
import { runLifecycle } from '../hooks.js';
import { createPattern } from '../patterns/pattern.js';
import type { OrchestrationPattern } from '../patterns/pattern.js';
import type { ChatMessage, RunStep } from '../ports.js';
import { routeUserMessage } from '../routing.js';
import { runTools } from '../tools/run-tools.js';
import { unansweredToolCalls } from '../tools/tool-calls.js';
import { answerUiTool } from '../tools/ui-tools.js';
import { takeTurn } from '../turn/take-turn.js';
import { seedVariables } from '../variables.js';
import { BillingJournal } from './billing-journal.js';
import { checkCancelled } from './cancellation.js';
import type { NextSpeaker, ParkedUiTool, RunContext } from './run-context.js';
import { resumePoint } from './resume-point.js';
import type { ResumePoint } from './resume-point.js';
import { RunAbortedError, runScope } from './run-types.js';
import type { RunInput, RunOutcome, RunPorts } from './run-types.js';

/** How the run ended, as its last step writes it. */
interface Ending {
  status: RunOutcome['status'];
  reason: CompletionReason;
  /** Told before `workflow_complete`: an error, an input request, a UI tool. */
  events: EventBody[];
  /** The chat waits for the user's answer to this. */
  awaitInput?: RunStep['awaitInput'];
  /** What made the run fail, for the caller's log. */
  failure?: unknown;
}

/**
 * Runs (or resumes) the workflow for one user message. LLM and tool failures become events and a
 * failed completion; only an abort (RunAbortedError) or a failing journal throws (its own error).
 */
export async function runWorkflow(given: RunInput, ports: RunPorts): Promise<RunOutcome> {
  const started = performance.now();
  const input = runScope(given);
  const history = await ports.journal.load();
  const journal = new BillingJournal(ports.journal, input.runId);
  const mine = history.filter((m) => m.run_id === input.runId);
  // The user's message joins the history with the run's first step (it is already durable as the
  // run's input): one write less before the first model call.
  if (input.userMessage !== undefined && !mine.some((m) => m.role === 'user')) {
    const entry: ChatMessage = { role: 'user', content: input.userMessage, run_id: input.runId };
    journal.withNextStep(entry);
    history.push(entry);
  }
  const variables = { ...seedVariables(input.workflow, input.claims ?? {}, input.env ?? {}), ...input.variables };
  const run: RunContext = { input, ports: { ...ports, journal }, journal, history, variables };
  const loop = new RunLoop(run, resumePoint(mine));
  let ending: Ending;
  try {
    ending = await loop.execute();
  } catch (error) {
    ending = loop.failed(error);
  }
  return loop.finish(ending, performance.now() - started);
}

/** The run's turns, one after another, and what is held back to be written with what follows. */
class RunLoop {
  private readonly pattern: OrchestrationPattern;
  private readonly agents: Map<string, ConversableAgent>;
  /** The agents whose turns ended, this attempt's and those an earlier attempt committed. */
  private readonly spoken: string[];
  /**
   * A turn's final reply waits for what follows it: when the run ends there, the reply and the
   * run's end are one step (one write); when another turn follows, it is committed first.
   */
  private held: RunStep | undefined;

  constructor(
    private readonly run: RunContext,
    private readonly point: ResumePoint,
  ) {
    const { workflow } = run.input;
    this.pattern = createPattern(workflow, { llm: run.ports.llm, record: (usage) => run.journal.record(usage) });
    this.agents = new Map(workflow.agents.map((a) => [a.name, run.ports.createAgent?.(a) ?? new ConversableAgent(a)]));
    this.spoken = [...point.spoken];
  }

  /** Takes turns from where the run stands until it ends, parks, or is handed back to the user. */
  async execute(): Promise<Ending> {
    const { input, history, variables } = this.run;
    let next = await this.firstSpeaker();
    checkCancelled(input);
    // Before the chat's first reply.
    if (!history.some((m) => m.role === 'assistant')) await this.lifecycle('before_chat');
    if (input.uiResponse) {
      const ended = await answerUiTool(this.run, (agent) => this.pattern.next({ agent, variables, history }));
      if (ended) {
        await this.lifecycle('after_agent', ended.agent);
        this.spoken.push(ended.agent);
        next = ended.next;
      }
    }
    // A handoff reply whose other tool calls were cut short: finish them before moving on.
    const { lastReply } = this.point;
    const cutShort = lastReply?.final ? unansweredToolCalls(history, lastReply.agent, input.runId) : [];
    if (lastReply && cutShort.length) {
      const end = await runTools(this.run, this.agents.get(lastReply.agent)!, cutShort);
      if (end.kind === 'parked') return parkedOn(end.parked);
    }
    const ending = await this.turns(this.point.resuming, next);
    // The chat is over (not waiting for the user).
    if (['terminated', 'agents_done', 'max_turns'].includes(ending.reason)) await this.lifecycle('after_chat');
    return ending;
  }

  /** Who speaks first in this attempt: where the last committed turn said, or the pattern's first. */
  private async firstSpeaker(): Promise<NextSpeaker> {
    const { input, history, variables, ports, journal } = this.run;
    const { lastTurn } = this.point;
    if (lastTurn)
      return lastTurn.next !== undefined
        ? lastTurn.next
        : this.pattern.next({ agent: lastTurn.agent, variables, history });
    // The user's later messages (an answer, or a message after a run ended) go to the agent the
    // rules from `user` choose (the asking agent otherwise); the chat's opening message goes to
    // the pattern's initial agent, as in AG2.
    const later = input.startWith !== undefined || history.some((m) => m.run_id !== input.runId);
    if (later && input.fromUser && input.userMessage !== undefined) {
      const record = (usage: LlmCallUsage) => journal.record(usage);
      const routed = await routeUserMessage(
        input.workflow,
        input.userMessage,
        variables,
        ports.llm,
        record,
        input.callSignal,
      );
      if (routed !== undefined) return routed;
    }
    return input.startWith ?? this.pattern.first();
  }

  /** Turns until no one is left to speak, the run is handed on, max_turns is reached, or a UI tool parks it. */
  private async turns(resuming: string | undefined, first: NextSpeaker): Promise<Ending> {
    const { input, variables } = this.run;
    let next = first;
    // A turn interrupted after a tool round goes on with the same agent.
    for (let speaker = resuming ?? next; speaker !== null; speaker = next) {
      checkCancelled(input);
      if (speaker === 'terminate' || speaker === 'user') return this.handedOn(speaker);
      if (this.spoken.length >= input.workflow.max_turns) return completed('max_turns');
      const agent = this.agents.get(speaker);
      if (!agent) throw new Error(`pattern chose "${speaker}", which is not an agent of ${input.workflow.id}`);
      await this.flush();
      await this.lifecycle('before_agent', speaker);
      const from = speaker;
      const end = await takeTurn(this.run, agent, {
        decide: (handoff, sofar) =>
          this.pattern.next({ agent: from, ...(handoff ? { handoff } : {}), variables, history: sofar }),
        hold: (step) => void (this.held = step),
      });
      if (end.kind === 'parked') return parkedOn(end.parked);
      next = end.next;
      await this.lifecycle('after_agent', speaker);
      this.spoken.push(speaker);
    }
    return completed('agents_done');
  }

  /** The run ends on `terminate`, or hands the chat to the user (an input request when a human is in the loop). */
  private handedOn(speaker: 'terminate' | 'user'): Ending {
    const { input, history } = this.run;
    const { workflow, runId } = input;
    const asking = [...history].reverse().find((m) => m.role === 'assistant' && m.run_id === runId && m.final);
    const manual = workflow.orchestration_pattern === 'ManualPattern';
    if (speaker === 'terminate') return completed('terminated');
    if (!(workflow.human_in_the_loop || manual) || asking?.role !== 'assistant') return completed('awaiting_user');
    // The run parks in the store: the answer may come to any gateway, after any restart.
    const awaitInput = { request_id: `req_${runId}`, agent: asking.agent };
    const options = workflow.agents.map((a) => a.name);
    const prompt = manual
      ? { prompt: `Who speaks next? One of: ${options.join(', ')}.`, options }
      : { prompt: asking.content ?? '' };
    const request: EventBody = { type: 'input_request', run_id: runId, ...awaitInput, ...prompt };
    return { ...completed('awaiting_input'), awaitInput, events: [request] };
  }

  /** How a run that threw ends: cancelled, or failed with an error event. An abort or a store failure is thrown on. */
  failed(error: unknown): Ending {
    const { input, journal } = this.run;
    if (input.signal?.aborted) throw new RunAbortedError(`run ${input.runId} was stopped`, { cause: error });
    if (journal.uncommitted) throw journal.uncommitted.error;
    if (input.cancel?.aborted) {
      // What the stopped LLM call had consumed is billed with the run.
      const used = (error as { usage?: LlmCallUsage }).usage;
      if (used) journal.record(used);
      return { status: 'cancelled', reason: 'cancelled', events: [] };
    }
    const told: EventBody = { type: 'error', run_id: input.runId, ...toFailure(error) };
    return { status: 'failed', reason: 'error', events: [told], failure: error };
  }

  /** Writes the run's end (with the step held back, as one) and says how it went. */
  async finish(ending: Ending, duration_ms: number): Promise<RunOutcome> {
    const { input, journal } = this.run;
    const { status, reason } = ending;
    const held = this.held;
    const turns = this.spoken.length;
    const complete: EventBody = {
      type: 'workflow_complete',
      run_id: input.runId,
      workflow_id: input.workflow.id,
      status,
      reason,
      turns,
      duration_ms,
    };
    await journal.commit({
      ...(held?.messages ? { messages: held.messages } : {}),
      ...(held?.calls ? { calls: held.calls } : {}),
      ...(held?.variables ? { variables: held.variables } : {}),
      ...(ending.awaitInput ? { awaitInput: ending.awaitInput } : {}),
      events: [...(held?.events ?? []), ...ending.events, complete],
      finish: status,
    });
    const failure = ending.failure === undefined ? {} : { error: ending.failure };
    return { status, reason, turns, calls: journal.calls, duration_ms, ...failure };
  }

  /** Commits the step a turn held back, before what follows it. */
  private async flush(): Promise<void> {
    const step = this.held;
    this.held = undefined;
    if (step) await this.run.journal.commit(step);
  }

  /** Calls the lifecycle tools of a point of the chat, committing what came before them first. */
  private async lifecycle(trigger: LifecycleToolDefinition['trigger'], agent?: string): Promise<void> {
    const step = await runLifecycle(this.run, trigger, agent, this.spoken.length);
    if (!step) return;
    await this.flush();
    await this.run.journal.commit(step);
  }
}

function completed(reason: CompletionReason): Ending {
  return { status: 'completed', reason, events: [] };
}

/** Like an input request: the run ends at the UI tool and the chat waits, durably, for the client. */
function parkedOn(parked: ParkedUiTool): Ending {
  return { ...completed('awaiting_input'), awaitInput: parked.request, events: [parked.event] };
}

/** The client's view of a failure: an LLM error says what the endpoint said; anything else stays inside. */
function toFailure(error: unknown): { code: ErrorCode; message: string; retryable: boolean } {
  if (error instanceof RuntimeError && error.code === ErrorCode.LlmError) {
    return { code: ErrorCode.LlmError, message: error.message, retryable: error.retryable };
  }
  return {
    code: ErrorCode.Internal,
    message: 'the run failed inside the runtime; it is logged for the operator',
    retryable: true,
  };
}
