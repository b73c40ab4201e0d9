// One execution of a workflow: the user's message goes into the chat, then agents take turns as
// the pattern says, each replying through the LLM and calling its tools, until the run ends.
// Every step is committed before the next begins, so a run started again after a crash (same
// run id) continues from its last committed step: no reply is produced twice, none is lost.
import type { CompletionReason, ErrorCode, EventBody, HookEvent, LlmCallUsage } from '@mozaiks/protocol';
import { evaluateExpression, matchesVariableType, parseStructuredReply } from '@mozaiks/workflows';
import type {
  AgentDefinition,
  ContextVariableDefinition,
  HookDefinition,
  LifecycleToolDefinition,
  ToolDefinition,
  WorkflowDefinition,
} from '@mozaiks/workflows';
import { ConversableAgent } from './conversable-agent.js';
import { createPattern } from './default-pattern.js';
import type {
  ChatMessage,
  LlmClient,
  LlmRequest,
  LlmToolCall,
  RunJournal,
  RunStep,
  ToolInvoker,
  ToolOutcome,
} from './ports.js';

/** Tool rounds one agent turn may take before the agent must answer in words, unless the workflow says. */
export const MAX_TOOL_ROUNDS_PER_TURN = 10;

export interface RunPorts {
  llm: LlmClient;
  tools: ToolInvoker;
  journal: RunJournal;
  /** Makes an agent with a custom class; plain ConversableAgents otherwise. */
  createAgent?: (definition: AgentDefinition) => ConversableAgent;
}

export interface RunInput {
  workflow: WorkflowDefinition;
  /** Stable per user message: a run started again with the same id resumes. */
  runId: string;
  /** The user's message that starts the run; none when the user only chose who speaks (ManualPattern). */
  userMessage?: string;
  /** Shown to the agents when given (CONTEXT_AWARE). */
  context?: Record<string, unknown>;
  /** The launch token's custom claims: they seed the context variables of the same names. */
  claims?: Record<string, unknown>;
  /** The agent that speaks first instead of the pattern's first (the one whose input request the user answered). */
  startWith?: string;
  /** The chat's context variables as its last run left them; seeded from defaults and claims when absent. */
  variables?: Record<string, unknown>;
  /** The user wrote `userMessage`: unless it opens the chat, handoff rules from `user` choose who answers it. */
  fromUser?: boolean;
  /** The client's response to the UI tool the chat waited on: it is that tool call's result. */
  uiResponse?: { tool_call_id: string; response: Record<string, unknown> };
  /** Where variables with an `env_var` take their first value (the executor's environment). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborting stops the run between steps (and its LLM call); nothing more is committed. */
  signal?: AbortSignal;
  /**
   * Aborting cancels the run: its LLM call is stopped, no new tool call starts, a tool call in
   * flight is abandoned (its result ignored), and the run ends as `cancelled`, billing what it used.
   */
  cancel?: AbortSignal;
}

export interface RunOutcome {
  status: 'completed' | 'failed' | 'cancelled';
  reason: CompletionReason;
  turns: number;
  /** LLM calls made by this attempt, with the endpoint's token counts. */
  calls: LlmCallUsage[];
  duration_ms: number;
  /** What made the run fail, for the caller's log (the client sees a sanitised error event). */
  error?: unknown;
}

/** The run was stopped through its signal; it can be started again and will resume. */
export class RunAbortedError extends Error {
  override name = 'RunAbortedError';
}

/** A UI tool was called: the run parks until the client responds (internal). */
class AwaitingUiTool extends Error {
  override name = 'AwaitingUiTool';
  constructor(
    readonly request: { request_id: string; agent: string; tool_call_id: string },
    readonly event: EventBody,
  ) {
    super('waiting for a UI tool response');
  }
}

/** The run was cancelled through its `cancel` signal (internal: the run ends as cancelled). */
class RunCancelled extends Error {
  override name = 'RunCancelled';
}

/** A run as its steps see it: the input, and the signal its LLM calls stop on. */
type RunScope = RunInput & { readonly callSignal?: AbortSignal };

/** Throws once the run is cancelled. */
function checkCancelled(input: RunScope): void {
  if (input.cancel?.aborted) throw new RunCancelled(`run ${input.runId} was cancelled`);
}

/**
 * Runs (or resumes) the workflow for one user message. LLM and tool failures become events and a
 * failed completion; only an abort (RunAbortedError) or a failing journal throws (its own error).
 */
export async function runWorkflow(given: RunInput, ports: RunPorts): Promise<RunOutcome> {
  const started = performance.now();
  // LLM calls stop on either signal: a hand-back or a cancel.
  const signals = [given.signal, given.cancel].filter((s): s is AbortSignal => s !== undefined);
  const input: RunScope = {
    ...given,
    ...(signals.length ? { callSignal: signals.length > 1 ? AbortSignal.any(signals) : signals[0]! } : {}),
  };
  const { workflow, runId } = input;
  const agents = new Map(workflow.agents.map((a) => [a.name, ports.createAgent?.(a) ?? new ConversableAgent(a)]));
  const calls: LlmCallUsage[] = [];
  // Calls the pattern makes (AutoPattern) are billed with the next step committed.
  const unbilled: LlmCallUsage[] = [];
  const record = (usage: LlmCallUsage) => {
    calls.push(usage);
    unbilled.push(usage);
  };
  const pattern = createPattern(workflow, { llm: ports.llm, record });
  // How long each agent's model call took, for its usage_delta.
  const durations = new WeakMap<LlmCallUsage, number>();

  const history = await ports.journal.load();
  const mine = history.filter((m) => m.run_id === runId);
  // The user's message joins the history with the run's first step (it is already durable as the
  // run's input): one write less before the first model call.
  const pending: ChatMessage[] = [];
  if (input.userMessage !== undefined && !mine.some((m) => m.role === 'user')) {
    const entry: ChatMessage = { role: 'user', content: input.userMessage, run_id: runId };
    pending.push(entry);
    history.push(entry);
  }
  const durable = ports.journal;
  // A turn's final reply waits for what follows it: when the run ends there, the reply and the
  // run's end are one step (one write); when another turn follows, it is committed first.
  let held: RunStep | undefined;
  // A step that could not be committed is not the run's failure but the store's: the run stops
  // with that error, and is continued from its last committed step when started again.
  let uncommitted: { error: unknown } | undefined;
  const journal: RunJournal = {
    load: () => durable.load(),
    live: (event) => durable.live(event),
    commit: async (step) => {
      const messages = pending.length ? [...pending.splice(0), ...(step.messages ?? [])] : step.messages;
      const billed = unbilled.length ? [...(step.calls ?? []), ...unbilled.splice(0)] : step.calls;
      // Each model call is told with the step that bills it, after what the call produced and
      // before what ends the run (an error, an input request or UI tool, workflow_complete).
      const deltas = (billed ?? []).map((call) => usageDelta(runId, call, durations.get(call)));
      const events = deltas.length && step.events ? [...step.events] : step.events;
      if (deltas.length) {
        const end = events?.findIndex((e) => RUN_END_EVENTS.has(e.type)) ?? -1;
        if (events && end >= 0) events.splice(end, 0, ...deltas);
        else if (events) events.push(...deltas);
      }
      try {
        await durable.commit({
          ...step,
          ...(messages ? { messages } : {}),
          ...(billed ? { calls: billed } : {}),
          ...(events ? { events } : deltas.length ? { events: deltas } : {}),
        });
      } catch (error) {
        uncommitted = { error };
        throw error;
      }
    },
  };
  ports = { ...ports, journal };
  const variables = { ...seedVariables(workflow, input.claims ?? {}, input.env ?? {}), ...input.variables };
  // A turn ends with a final reply, or with a tool round in which a tool handed the conversation over.
  const turnEnds = mine.flatMap((m) =>
    m.role === 'assistant' && m.final
      ? [{ agent: m.agent, next: m.ended === 'terminated' ? 'terminate' : m.next }]
      : m.role === 'tool' && m.ends_turn
        ? [{ agent: m.agent, next: m.ends_turn.next }]
        : [],
  );
  const spoken = turnEnds.map((m) => m.agent);
  const lastEnd = [...mine]
    .reverse()
    .find((m) => (m.role === 'assistant' && m.final) || (m.role === 'tool' && m.ends_turn));
  const lastReply = [...mine].reverse().find((m) => m.role === 'assistant');
  // A turn interrupted after a tool round goes on with the same agent.
  let resuming =
    lastReply?.role === 'assistant' &&
    !lastReply.final &&
    mine.indexOf(lastReply) > (lastEnd ? mine.indexOf(lastEnd) : -1)
      ? lastReply.agent
      : undefined;
  const lastTurn = turnEnds.at(-1);
  let next: string | null = lastTurn
    ? lastTurn.next !== undefined
      ? lastTurn.next
      : await pattern.next({ agent: lastTurn.agent, variables, history })
    : (input.startWith ?? pattern.first());
  // The user's later messages (an answer, or a message after a run ended) go to the agent the rules
  // from `user` choose (the asking agent otherwise); the chat's opening message goes to the
  // pattern's initial agent, as in AG2.
  const later = input.startWith !== undefined || history.some((m) => m.run_id !== runId);
  if (!lastTurn && later && input.fromUser && input.userMessage !== undefined) {
    const routed = await routeUserMessage(workflow, input.userMessage, variables, ports.llm, record, input.callSignal);
    if (routed !== undefined) next = routed;
  }

  let reason: CompletionReason = 'agents_done';
  let status: RunOutcome['status'] = 'completed';
  let failure: unknown;
  const failureEvents: EventBody[] = [];
  let awaitInput: RunStep['awaitInput'];
  const endEvents: EventBody[] = [];
  /** Calls the lifecycle tools of a point of the chat, committing what came before them first. */
  const lifecycle = async (trigger: LifecycleToolDefinition['trigger'], agent?: string) => {
    const step = await runLifecycle(trigger, agent, spoken.length, input, ports, variables);
    if (!step) return;
    if (held) {
      const before = held;
      held = undefined;
      await ports.journal.commit(before);
    }
    await ports.journal.commit(step);
  };
  try {
    checkCancelled(input);
    // Before the chat's first reply.
    if (!history.some((m) => m.role === 'assistant')) await lifecycle('before_chat');
    if (input.uiResponse) {
      const ended = await answerUiTool(input, ports, history, variables, (agent) =>
        pattern.next({ agent, variables, history }),
      );
      if (ended) {
        await lifecycle('after_agent', ended.agent);
        spoken.push(ended.agent);
        next = ended.next;
      }
    }
    // A handoff reply whose other tool calls were cut short: finish them before moving on.
    if (
      lastReply?.role === 'assistant' &&
      lastReply.final &&
      unansweredToolCalls(history, lastReply.agent, runId).length
    ) {
      await runTools(
        agents.get(lastReply.agent)!,
        unansweredToolCalls(history, lastReply.agent, runId),
        input,
        ports,
        history,
        variables,
      );
    }
    for (;;) {
      const speaker = resuming ?? next;
      resuming = undefined;
      if (speaker === null) break;
      checkCancelled(input);
      if (speaker === 'terminate' || speaker === 'user') {
        reason = speaker === 'user' ? 'awaiting_user' : 'terminated';
        const asking = [...history].reverse().find((m) => m.role === 'assistant' && m.run_id === runId && m.final);
        const manual = workflow.orchestration_pattern === 'ManualPattern';
        if (speaker === 'user' && (workflow.human_in_the_loop || manual) && asking?.role === 'assistant') {
          // The run parks in the store: the answer may come to any gateway, after any restart.
          reason = 'awaiting_input';
          awaitInput = { request_id: `req_${runId}`, agent: asking.agent };
          const options = workflow.agents.map((a) => a.name);
          endEvents.push({
            type: 'input_request',
            run_id: runId,
            request_id: awaitInput.request_id,
            agent: asking.agent,
            ...(manual
              ? { prompt: `Who speaks next? One of: ${options.join(', ')}.`, options }
              : { prompt: asking.content ?? '' }),
          });
        }
        break;
      }
      if (spoken.length >= workflow.max_turns) {
        reason = 'max_turns';
        break;
      }
      const agent = agents.get(speaker);
      if (!agent) throw new Error(`pattern chose "${speaker}", which is not an agent of ${workflow.id}`);
      if (held) {
        const step = held;
        held = undefined;
        await ports.journal.commit(step);
      }
      await lifecycle('before_agent', speaker);
      next = await takeTurn(agent, {
        input,
        ports,
        history,
        calls,
        unbilled,
        variables,
        durations,
        decide: (handoff, sofar) =>
          pattern.next({ agent: speaker, ...(handoff ? { handoff } : {}), variables, history: sofar }),
        hold: (step) => void (held = step),
      });
      await lifecycle('after_agent', speaker);
      spoken.push(speaker);
    }
    // The chat is over (not waiting for the user).
    if (reason === 'terminated' || reason === 'agents_done' || reason === 'max_turns') await lifecycle('after_chat');
  } catch (error) {
    if (input.signal?.aborted) throw new RunAbortedError(`run ${runId} was stopped`, { cause: error });
    if (uncommitted) throw uncommitted.error;
    if (error instanceof AwaitingUiTool) {
      // Like an input request: the run ends here and the chat waits, durably, for the client.
      reason = 'awaiting_input';
      awaitInput = error.request;
      endEvents.push(error.event);
    } else if (input.cancel?.aborted) {
      // What the stopped LLM call had consumed is billed with the run.
      const used = (error as { usage?: LlmCallUsage }).usage;
      if (used) {
        calls.push(used);
        unbilled.push(used);
      }
      status = 'cancelled';
      reason = 'cancelled';
    } else {
      status = 'failed';
      reason = 'error';
      failure = error;
      failureEvents.push({ type: 'error', run_id: runId, ...toFailure(error) });
    }
  }

  const duration_ms = performance.now() - started;
  await ports.journal.commit({
    ...(held?.messages ? { messages: held.messages } : {}),
    ...(held?.calls ? { calls: held.calls } : {}),
    ...(held?.variables ? { variables: held.variables } : {}),
    ...(awaitInput ? { awaitInput } : {}),
    events: [
      ...(held?.events ?? []),
      ...failureEvents,
      ...endEvents,
      {
        type: 'workflow_complete',
        run_id: runId,
        workflow_id: workflow.id,
        status,
        reason,
        turns: spoken.length,
        duration_ms,
      },
    ],
    finish: status,
  });
  return {
    status,
    reason,
    turns: spoken.length,
    calls,
    duration_ms,
    ...(failure === undefined ? {} : { error: failure }),
  };
}

interface TurnScope {
  input: RunScope;
  ports: RunPorts;
  history: ChatMessage[];
  calls: LlmCallUsage[];
  /** Calls to bill with the next committed step. */
  unbilled: LlmCallUsage[];
  /** The chat's context variables, updated in place by tools. */
  variables: Record<string, unknown>;
  /** How long each model call of the run took. */
  durations: WeakMap<LlmCallUsage, number>;
  /** Where the run goes after this turn, given the handoff the agent chose, if any. */
  decide: (handoff: string | undefined, history: readonly ChatMessage[]) => string | null | Promise<string | null>;
  /** Keeps the turn's last step for the run to commit, alone or with the run's end. */
  hold: (step: RunStep) => void;
}

/** Prefix of the tools through which an agent hands the conversation over (its `llm` conditions). */
const HANDOFF_TOOL = 'handoff_to_';

/** The agent's `llm` handoff conditions as tools it can call. */
function handoffTools(
  workflow: WorkflowDefinition,
  agent: string,
): Array<{ name: string; target: string; description: string }> {
  return workflow.handoffs.flatMap((rule) =>
    rule.source_agent === agent && rule.kind === 'llm'
      ? [
          {
            name: `${HANDOFF_TOOL}${rule.target}`,
            target: rule.target,
            description: `Hand the conversation over to ${rule.target} when: ${rule.condition}`,
          },
        ]
      : [],
  );
}

/** The context variables: declared defaults, then the environment (`env_var`), then the launch token's claims of the same names. */
function seedVariables(
  workflow: WorkflowDefinition,
  claims: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  return Object.fromEntries(
    workflow.context_variables.map((v) => {
      if (v.name in claims) return [v.name, claims[v.name]];
      const fromEnv = v.env_var === undefined ? undefined : env[v.env_var];
      return [v.name, fromEnv === undefined ? v.default : fromEnvironment(fromEnv, v)];
    }),
  );
}

/** An environment variable's text as a value of the variable's type; the default when it is not one. */
function fromEnvironment(text: string, variable: ContextVariableDefinition): unknown {
  switch (variable.type) {
    case 'string':
      return text;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text.trim())) return true;
      if (/^(false|0|no|off|)$/i.test(text.trim())) return false;
      return variable.default;
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text.trim() !== '' && matchesVariableType(n, variable.type) ? n : variable.default;
    }
    default:
      try {
        const parsed: unknown = JSON.parse(text);
        return matchesVariableType(parsed, variable.type) ? parsed : variable.default;
      } catch {
        return variable.default;
      }
  }
}

/** Name under which routing calls for the user's messages are reported in usage. */
export const USER_ROUTER = 'user_router';

/**
 * Who answers the user's message, by the handoff rules from `user`: the first expression that
 * holds, else the `llm` condition a model finds the message meets, else the `after_work` rule.
 * Undefined when the workflow has no such rule or none applies.
 */
async function routeUserMessage(
  workflow: WorkflowDefinition,
  message: string,
  variables: Readonly<Record<string, unknown>>,
  llm: LlmClient,
  record: (usage: LlmCallUsage) => void,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const rules = workflow.handoffs.filter((r) => r.source_agent === 'user');
  for (const rule of rules) {
    if (rule.kind === 'expression' && evaluateExpression(rule.expression, variables)) return rule.target;
  }
  const conditions = rules.flatMap((r) => (r.kind === 'llm' ? [r] : []));
  if (conditions.length) {
    const reply = await llm.complete(
      {
        agent: USER_ROUTER,
        temperature: 0,
        messages: [
          {
            role: 'system',
            content: `You route a user's message. Conditions:\n${conditions.map((c, i) => `${i + 1}. ${c.condition}`).join('\n')}\n\nAnswer with the number of the first condition the message meets, or 0 if it meets none. Answer with the number only.`,
          },
          { role: 'user', content: message },
        ],
        tools: [],
      },
      signal ? { signal } : {},
    );
    record(reply.usage);
    const chosen = Number(/\d+/.exec(reply.content ?? '')?.[0] ?? 0);
    if (chosen >= 1 && chosen <= conditions.length) return conditions[chosen - 1]!.target;
  }
  return rules.find((r) => r.kind === 'after_work')?.target;
}

/** A `usage_delta` event for one model call. */
function usageDelta(runId: string, call: LlmCallUsage, duration: number | undefined): EventBody {
  return {
    type: 'usage_delta',
    run_id: runId,
    agent: call.agent,
    model: call.model,
    prompt_tokens: call.prompt_tokens,
    completion_tokens: call.completion_tokens,
    total_tokens: call.total_tokens,
    ...(duration === undefined ? {} : { duration_ms: Math.round(duration * 10) / 10 }),
    ...(call.estimated ? { estimated: true } : {}),
  };
}

/** Events that end a run's story; a step's usage_delta events come before them. */
const RUN_END_EVENTS = new Set<string>(['error', 'input_request', 'ui_tool', 'workflow_complete']);

/** Sets the variables whose `agent_text` triggers match the agent's reply. Returns whether any did, and whether one hides the reply. */
function applyTextTriggers(
  workflow: WorkflowDefinition,
  agent: string,
  text: string,
  variables: Record<string, unknown>,
): { changed: boolean; hidden: boolean } {
  let changed = false;
  let hidden = false;
  const said = text.trim();
  for (const variable of workflow.context_variables) {
    for (const trigger of variable.triggers ?? []) {
      if (trigger.type !== 'agent_text' || trigger.agent !== agent) continue;
      const { equals, contains, regex } = trigger.match;
      const matches =
        equals !== undefined
          ? said === equals
          : contains !== undefined
            ? said.includes(contains)
            : new RegExp(regex!).test(said);
      if (!matches) continue;
      if (variables[variable.name] !== true) changed = true;
      variables[variable.name] = true;
      hidden ||= trigger.ui_hidden;
    }
  }
  return { changed, hidden };
}

/** One agent's turn: reply, run any tools it calls, reply again. Returns where the run goes next. */
async function takeTurn(
  agent: ConversableAgent,
  { input, ports, history, calls, unbilled, variables, durations, decide, hold }: TurnScope,
): Promise<string | null> {
  const { workflow, runId } = input;
  const unanswered = unansweredToolCalls(history, agent.name, runId);
  if (unanswered.length > 0) {
    // A call the runtime made from a structured output ends the turn with its result.
    const auto = history.some(
      (m) => m.role === 'assistant' && m.auto_tool && m.tool_calls?.some((c) => c.id === unanswered[0]!.id),
    );
    const handedTo = await runTools(
      agent,
      unanswered,
      input,
      ports,
      history,
      variables,
      (target) => decide(target, history),
      auto,
    );
    if (handedTo !== undefined) return handedTo;
  }
  const autoTool = agent.definition.auto_tool;
  const handoffs = handoffTools(workflow, agent.name);

  for (let round = 0; ; round++) {
    if (input.signal?.aborted) throw new RunAbortedError(`run ${runId} was stopped`);
    checkCancelled(input);
    const request = agent.buildRequest(history, input.context, variables);
    // In auto_tool_mode the model only answers; the runtime calls the tool with the answer.
    if (autoTool) request.tools = [];
    request.tools.push(
      ...handoffs.map(({ name, description }) => ({
        name,
        description,
        parameters: { type: 'object', properties: {} },
      })),
    );
    // After the last allowed tool round the agent must answer in words.
    if (
      round >=
      (agent.definition.max_consecutive_auto_reply ?? workflow.max_consecutive_auto_reply ?? MAX_TOOL_ROUNDS_PER_TURN)
    )
      request.tools = [];
    // Hook calls are named by the reply they belong to, the same when the run is started again.
    const hookKey = `${history.length}_${round}`;
    const told: EventBody[] = [];
    let hooksSet = await updateAgentState(agent, request, hookKey, input, ports, variables, told);
    const output = agent.definition.structured_output;
    const callStarted = performance.now();
    let reply = await agent.generateReply(request, ports.llm, {
      ...(input.callSignal ? { signal: input.callSignal } : {}),
      // A structured reply is shown whole, once checked.
      ...(output
        ? {}
        : {
            onDelta: (delta: string) =>
              ports.journal.live({ type: 'agent_message_delta', run_id: runId, agent: agent.name, delta }),
          }),
    });
    durations.set(reply.usage, performance.now() - callStarted);
    calls.push(reply.usage);
    let structured: unknown;
    if (output && reply.tool_calls.length === 0) {
      // A reply that does not match its schema gets one chance to correct itself; nobody sees the miss.
      let problems = checkStructured(reply.content, output.check);
      if (problems.length) {
        unbilled.push(reply.usage);
        const retried = performance.now();
        reply = await ports.llm.complete(
          {
            ...request,
            messages: [
              ...request.messages,
              { role: 'assistant', content: reply.content },
              {
                role: 'user',
                content: `Your reply must be only JSON matching the schema ${output.name}. Problems: ${problems.join('; ')}`,
              },
            ],
          },
          input.callSignal ? { signal: input.callSignal } : {},
        );
        durations.set(reply.usage, performance.now() - retried);
        calls.push(reply.usage);
        problems = checkStructured(reply.content, output.check);
      }
      if (problems.length) {
        unbilled.push(reply.usage);
        throw Object.assign(
          new Error(
            `agent ${agent.name}'s reply does not match its structured output ${output.name}: ${problems.join('; ')}`,
          ),
          { code: 'llm_error', retryable: true },
        );
      }
      structured = parseStructuredReply(reply.content);
    }

    const marker = workflow.termination_marker;
    let content = reply.content;
    const terminates = content !== null && content.trimEnd().endsWith(marker);
    if (terminates) content = content!.trimEnd().slice(0, -marker.length).trimEnd();
    if (content) {
      const sent = await beforeSend(agent, content, 'chat_manager', hookKey, input, ports, variables, told);
      content = sent.message;
      hooksSet ||= sent.changed;
    }
    const autoCall =
      autoTool && structured !== undefined && !terminates
        ? {
            id: `auto_${runId}_${history.length}`,
            name: autoTool.name,
            arguments: JSON.stringify(autoToolArguments(autoTool, structured)),
          }
        : undefined;
    const toolCalls = terminates ? [] : autoCall ? [autoCall] : reply.tool_calls;
    const handoff = handoffs.find((h) => toolCalls.some((c) => c.name === h.name))?.target;
    const final = toolCalls.length === 0 || handoff !== undefined;
    // State variables the reply's words set are seen by the handoff conditions of this same turn.
    const triggered = content
      ? applyTextTriggers(workflow, agent.name, content, variables)
      : { changed: false, hidden: false };
    const next = terminates
      ? 'terminate'
      : final
        ? await decide(handoff, [...history, { role: 'assistant', agent: agent.name, content: content || null }])
        : undefined;

    const entry: ChatMessage = {
      role: 'assistant',
      agent: agent.name,
      content: content || null,
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      ...(final ? { final: true, next: next ?? null } : {}),
      ...(terminates ? { ended: 'terminated' as const } : {}),
      ...(autoCall ? { auto_tool: true as const } : {}),
      run_id: runId,
    };
    const events: EventBody[] = [
      ...told,
      ...(content && !triggered.hidden
        ? [
            {
              type: 'agent_message' as const,
              run_id: runId,
              agent: agent.name,
              content,
              ...(structured === undefined ? {} : { structured }),
            },
          ]
        : []),
    ];
    for (const call of toolCalls) {
      if (call.name.startsWith(HANDOFF_TOOL) && handoffs.some((h) => h.name === call.name)) continue;
      events.push({
        type: 'tool_call',
        run_id: runId,
        agent: agent.name,
        tool_call_id: call.id,
        name: call.name,
        arguments: parseArguments(call.arguments).args,
      });
    }
    const step: RunStep = {
      messages: [entry],
      events,
      calls: [reply.usage],
      ...(triggered.changed || hooksSet ? { variables: { ...variables } } : {}),
    };
    // A reply with nothing after it in this turn is the turn's last step.
    if (toolCalls.length === 0) hold(step);
    else await ports.journal.commit(step);
    history.push(entry);
    if (toolCalls.length) {
      const handedTo = await runTools(
        agent,
        toolCalls,
        input,
        ports,
        history,
        variables,
        final ? undefined : (target) => decide(target, history),
        autoCall !== undefined,
      );
      if (handedTo !== undefined) return handedTo;
    }
    if (final) return next ?? null;
  }
}

/** `work`, unless the run is cancelled first: then the run stops and work's result is ignored. */
function untilCancelled<T>(input: RunScope, work: Promise<T>): Promise<T> {
  const cancel = input.cancel;
  if (!cancel) return work;
  return new Promise<T>((resolve, reject) => {
    const onCancel = () => reject(new RunCancelled(`run ${input.runId} was cancelled`));
    cancel.addEventListener('abort', onCancel, { once: true });
    work.then(
      (value) => (cancel.removeEventListener('abort', onCancel), resolve(value)),
      (error: unknown) => (cancel.removeEventListener('abort', onCancel), reject(error)),
    );
  });
}

/** Problems of a reply meant to be JSON of a schema; empty when it is. */
function checkStructured(content: string | null, check: (value: unknown) => string[]): string[] {
  const value = parseStructuredReply(content);
  return value === undefined ? ['the reply is not JSON'] : check(value);
}

/** Tool calls of the agent's last reply in this run that have no result yet (after a crash). */
function unansweredToolCalls(history: readonly ChatMessage[], agent: string, runId: string): LlmToolCall[] {
  const lastCall = [...history]
    .reverse()
    .find((m) => m.run_id === runId && m.role === 'assistant' && m.agent === agent);
  if (!lastCall || lastCall.role !== 'assistant' || !lastCall.tool_calls?.length) return [];
  const answered = new Set(history.flatMap((m) => (m.role === 'tool' ? [m.tool_call_id] : [])));
  return lastCall.tool_calls.filter((c) => !answered.has(c.id));
}

function parseArguments(text: string): { args: Record<string, unknown>; problem?: string } {
  try {
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return { args: parsed as Record<string, unknown> };
    return { args: {}, problem: 'tool arguments must be a JSON object' };
  } catch {
    return { args: {}, problem: 'tool arguments are not valid JSON' };
  }
}

/** Key of a tool result's context-variable updates: `{"$context": {"collected": true}}`. */
export const TOOL_CONTEXT_KEY = '$context';
/** Key of a tool result's handoff: `{"$handoff": "Validator"}` (an agent, `user` or `terminate`). */
export const TOOL_HANDOFF_KEY = '$handoff';

/**
 * Sets what a tool (or hook) set in the variables: only declared variables, and only with values of
 * their type, so that no function corrupts the chat's state. Returns whether any was set.
 */
function setVariables(
  workflow: WorkflowDefinition,
  updates: Record<string, unknown> | undefined,
  variables: Record<string, unknown>,
): boolean {
  let changed = false;
  for (const [name, value] of Object.entries(updates ?? {})) {
    const type = workflow.context_variables.find((v) => v.name === name)?.type;
    if (type && matchesVariableType(value, type)) {
      variables[name] = value;
      changed = true;
    }
  }
  return changed;
}

/** What the client is told of a hook or lifecycle tool call. */
function hookEvent(
  runId: string,
  hook: HookEvent['hook'],
  agent: string | undefined,
  name: string,
  outcome: ToolOutcome,
): EventBody {
  return {
    type: 'hook',
    run_id: runId,
    hook,
    ...(agent ? { agent } : {}),
    name,
    ...(outcome.ok
      ? { ok: true, ...(outcome.result === undefined || outcome.result === null ? {} : { result: outcome.result }) }
      : { ok: false, error: outcome.error }),
    duration_ms: outcome.duration_ms,
  };
}

/**
 * Calls the lifecycle tools of `trigger` (for `agent`), together, in the tool-runner like any
 * tool; each is told in a `hook` event and what it sets in the variables is kept. A failure is
 * told and the run goes on. Returns the step to commit; none when no tool is declared there.
 */
async function runLifecycle(
  trigger: LifecycleToolDefinition['trigger'],
  agent: string | undefined,
  turn: number,
  input: RunScope,
  ports: RunPorts,
  variables: Record<string, unknown>,
): Promise<RunStep | undefined> {
  const tools = (input.workflow.lifecycle_tools ?? []).filter(
    (l) => l.trigger === trigger && (l.agent === undefined || l.agent === agent),
  );
  if (tools.length === 0) return undefined;
  checkCancelled(input);
  const outcomes = await untilCancelled(
    input,
    Promise.all(
      tools.map(({ tool }, i) =>
        // The id is the same when the run is started again: the tool-runner answers a repeat from the first call.
        ports.tools.invoke({
          tool,
          agent: agent ?? '',
          tool_call_id: `${trigger}_${turn}_${i}`,
          args: {},
          ...(tool.takes_context ? { variables: { ...variables } } : {}),
        }),
      ),
    ),
  );
  let changed = false;
  const events = outcomes.map((outcome, i) => {
    if (outcome.ok && setVariables(input.workflow, outcome.variables, variables)) changed = true;
    return hookEvent(input.runId, trigger, agent, tools[i]!.tool.name, outcome);
  });
  return { events, ...(changed ? { variables: { ...variables } } : {}) };
}

/** The hooks of `type` that apply to `agent`, in file order. */
function hooksOf(workflow: WorkflowDefinition, type: HookDefinition['type'], agent: string): HookDefinition[] {
  return (workflow.hooks ?? []).filter((h) => h.type === type && (h.agent === 'all' || h.agent === agent));
}

/**
 * Runs the agent's update_agent_state hooks before a reply, each given the system message the one
 * before left: the request is sent with the result. Failures are told in `told`. Returns whether
 * a hook set variables.
 */
async function updateAgentState(
  agent: ConversableAgent,
  request: LlmRequest,
  key: string,
  input: RunScope,
  ports: RunPorts,
  variables: Record<string, unknown>,
  told: EventBody[],
): Promise<boolean> {
  const hooks = hooksOf(input.workflow, 'update_agent_state', agent.name);
  const base = agent.definition.system_message;
  let system = base;
  let changed = false;
  const messages = hooks.length ? request.messages.filter((m) => m.role !== 'system') : [];
  for (const [i, { tool }] of hooks.entries()) {
    const outcome = await untilCancelled(
      input,
      ports.tools.invoke({
        tool,
        agent: agent.name,
        tool_call_id: `state_${key}_${i}`,
        args: { agent: { name: agent.name, system_message: system }, messages },
        variables: { ...variables },
        hook: 'update_agent_state',
      }),
    );
    const returned = outcome.ok ? (outcome.result as { system_message?: unknown } | null)?.system_message : undefined;
    if (!outcome.ok) told.push(hookEvent(input.runId, 'update_agent_state', agent.name, tool.name, outcome));
    else {
      if (typeof returned === 'string') system = returned;
      if (setVariables(input.workflow, outcome.variables, variables)) changed = true;
    }
  }
  const first = request.messages[0];
  if (system !== base && first?.role === 'system' && first.content.startsWith(base))
    first.content = system + first.content.slice(base.length);
  return changed;
}

/**
 * The reply as the agent's process_message_before_send hooks leave it, in file order, and whether
 * they set variables. Failures are told in `told`.
 */
async function beforeSend(
  agent: ConversableAgent,
  content: string,
  recipient: string,
  key: string,
  input: RunScope,
  ports: RunPorts,
  variables: Record<string, unknown>,
  told: EventBody[],
): Promise<{ message: string; changed: boolean }> {
  let message = content;
  let changed = false;
  for (const [i, { tool }] of hooksOf(input.workflow, 'process_message_before_send', agent.name).entries()) {
    const outcome = await untilCancelled(
      input,
      ports.tools.invoke({
        tool,
        agent: agent.name,
        tool_call_id: `send_${key}_${i}`,
        args: {
          sender: { name: agent.name, system_message: agent.definition.system_message },
          message,
          recipient: { name: recipient },
          silent: false,
        },
        variables: { ...variables },
        hook: 'process_message_before_send',
      }),
    );
    if (!outcome.ok) {
      told.push(hookEvent(input.runId, 'process_message_before_send', agent.name, tool.name, outcome));
      continue;
    }
    // A hook returns the message as a string, or as a dict with its content.
    const returned = (outcome.result as { message?: unknown } | null)?.message;
    if (typeof returned === 'string') message = returned;
    else if (
      typeof returned === 'object' &&
      returned !== null &&
      typeof (returned as { content?: unknown }).content === 'string'
    )
      message = (returned as { content: string }).content;
    if (setVariables(input.workflow, outcome.variables, variables)) changed = true;
  }
  return { message, changed };
}

/**
 * The arguments of an auto_tool_mode call: each key of the structured output given to the
 * parameter of the same name (case, `_` and `-` aside); the whole output when the tool declares no
 * parameters. The chat's ids reach a tool through its context variables.
 */
function autoToolArguments(tool: ToolDefinition, structured: unknown): Record<string, unknown> {
  const output =
    typeof structured === 'object' && structured !== null && !Array.isArray(structured)
      ? (structured as Record<string, unknown>)
      : {};
  const declared = Object.keys((tool.parameters.properties as Record<string, unknown> | undefined) ?? {});
  if (declared.length === 0) return { ...output };
  const key = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const byKey = new Map(declared.map((name) => [key(name), name]));
  const args: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(output)) {
    const parameter = byKey.get(key(name));
    if (parameter) args[parameter] = value;
  }
  return args;
}

/**
 * Runs tool calls in parallel and commits their results, in the order called, with any context
 * variables they set. Returns where the run goes when a tool handed the conversation over (and
 * `decide` was given: the turn may still end), or when `endsTurn` (then with the pattern's choice
 * when no tool chose); else undefined.
 */
async function runTools(
  agent: ConversableAgent,
  toolCalls: LlmToolCall[],
  input: RunScope,
  ports: RunPorts,
  history: ChatMessage[],
  variables: Record<string, unknown> = {},
  decide?: (target: string | undefined) => string | null | Promise<string | null>,
  endsTurn = false,
): Promise<string | null | undefined> {
  const handoffs = handoffTools(input.workflow, agent.name);
  checkCancelled(input);
  // A UI tool is not run: its call goes to the client, whose response becomes the result. One per round.
  let shown: { call: LlmToolCall; tool: ToolDefinition; args: Record<string, unknown> } | undefined;
  const outcomes = await untilCancelled(
    input,
    Promise.all(
      toolCalls.map((call): Promise<ToolOutcome & { internal?: true; waits?: true }> => {
        const handoff = handoffs.find((h) => h.name === call.name);
        if (handoff)
          return Promise.resolve({
            ok: true as const,
            result: { handed_over_to: handoff.target },
            duration_ms: 0,
            internal: true,
          });
        const tool = agent.definition.tools.find((t) => t.name === call.name);
        const { args, problem } = parseArguments(call.arguments);
        let invalid = tool ? problem : `agent ${agent.name} has no tool named "${call.name}"`;
        if (tool?.tool_type === 'UI_Tool' && !invalid) {
          if (!shown) {
            shown = { call, tool, args };
            return Promise.resolve({ ok: true as const, result: null, duration_ms: 0, waits: true });
          }
          invalid = `one UI tool at a time: ${shown.tool.name} is waiting for the user; call ${call.name} after it`;
        }
        return tool && !invalid
          ? ports.tools.invoke({
              tool,
              agent: agent.name,
              tool_call_id: call.id,
              args,
              ...(tool.takes_context ? { variables: { ...variables } } : {}),
            })
          : Promise.resolve({
              ok: false as const,
              error: { code: 'invalid_tool_call', message: invalid! },
              duration_ms: 0,
            });
      }),
    ),
  );
  const results: ChatMessage[] = [];
  const events: EventBody[] = [];
  let changed = false;
  let handoff: string | undefined;
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    const result = (typeof outcome.result === 'object' && outcome.result !== null ? outcome.result : {}) as Record<
      string,
      unknown
    >;
    // A tool sets variables through its context_variables (Python) or a `$context` key in its result.
    const returned = result[TOOL_CONTEXT_KEY];
    if (
      setVariables(
        input.workflow,
        {
          ...(typeof returned === 'object' && returned !== null ? returned : {}),
          ...('variables' in outcome ? outcome.variables : {}),
        },
        variables,
      )
    )
      changed = true;
    const target = result[TOOL_HANDOFF_KEY];
    const valid =
      typeof target === 'string' &&
      (target === 'user' || target === 'terminate' || input.workflow.agents.some((a) => a.name === target));
    if (valid && handoff === undefined) handoff = target;
  }
  for (const [i, outcome] of outcomes.entries()) {
    const call = toolCalls[i]!;
    if ('waits' in outcome) continue;
    // A handoff is the engine's own business, not a tool the client sees run.
    if (!('internal' in outcome)) {
      events.push({
        type: 'tool_result',
        run_id: input.runId,
        agent: agent.name,
        tool_call_id: call.id,
        name: call.name,
        ...(outcome.ok ? { ok: true, result: outcome.result } : { ok: false, error: outcome.error }),
        duration_ms: outcome.duration_ms,
      });
    }
    results.push({
      role: 'tool',
      agent: agent.name,
      tool_call_id: call.id,
      name: call.name,
      content: JSON.stringify(outcome.ok ? (outcome.result ?? null) : { error: outcome.error }),
      run_id: input.runId,
    });
  }
  // A UI tool's turn ends when its response comes.
  const next = decide && (handoff !== undefined || (endsTurn && !shown)) ? await decide(handoff) : undefined;
  if (next !== undefined && results.length) {
    const last = results.at(-1)!;
    if (last.role === 'tool') last.ends_turn = { next };
  }
  if (results.length || changed)
    await ports.journal.commit({ messages: results, events, ...(changed ? { variables: { ...variables } } : {}) });
  history.push(...results);
  if (shown) {
    const { call, tool, args } = shown;
    throw new AwaitingUiTool(
      { request_id: `ui_${input.runId}_${call.id}`.slice(0, 200), agent: agent.name, tool_call_id: call.id },
      {
        type: 'ui_tool',
        run_id: input.runId,
        agent: agent.name,
        tool_call_id: call.id,
        name: tool.name,
        component: tool.ui?.component ?? tool.name,
        display: tool.ui?.display ?? 'inline',
        payload: args,
      },
    );
  }
  return next;
}

/**
 * The client's response to the UI tool the chat waited on becomes that call's result (once, even
 * when this run is started again), and sets the variables its `ui_response` triggers name. When
 * the runtime made the call (auto_tool_mode) the asking agent's turn ends there: returns where the
 * run goes next.
 */
async function answerUiTool(
  input: RunScope,
  ports: RunPorts,
  history: ChatMessage[],
  variables: Record<string, unknown>,
  decide: (agent: string) => string | null | Promise<string | null>,
): Promise<{ agent: string; next: string | null } | undefined> {
  const { tool_call_id, response } = input.uiResponse!;
  const answered = history.find((m) => m.role === 'tool' && m.tool_call_id === tool_call_id);
  // Answered already (this run started again): the history tells where it went.
  if (answered) return undefined;
  let asked: { agent: string; call: LlmToolCall; auto: boolean } | undefined;
  for (const m of history) {
    const call = m.role === 'assistant' ? m.tool_calls?.find((c) => c.id === tool_call_id) : undefined;
    if (call && m.role === 'assistant') asked = { agent: m.agent, call, auto: m.auto_tool === true };
  }
  if (!asked) return undefined;
  const { call } = asked;
  let changed = false;
  for (const variable of input.workflow.context_variables) {
    for (const trigger of variable.triggers ?? []) {
      if (trigger.type !== 'ui_response' || trigger.tool !== call.name || !(trigger.response_key in response)) continue;
      const value = response[trigger.response_key];
      if (matchesVariableType(value ?? null, variable.type)) {
        variables[variable.name] = value ?? null;
        changed = true;
      }
    }
  }
  const result: ChatMessage = {
    role: 'tool',
    agent: asked.agent,
    tool_call_id,
    name: call.name,
    content: JSON.stringify(response),
    run_id: input.runId,
  };
  history.push(result);
  const ended = asked.auto ? { agent: asked.agent, next: await decide(asked.agent) } : undefined;
  if (ended) result.ends_turn = { next: ended.next };
  await ports.journal.commit({
    messages: [result],
    events: [
      {
        type: 'tool_result',
        run_id: input.runId,
        agent: asked.agent,
        tool_call_id,
        name: call.name,
        ok: true,
        result: response,
        duration_ms: 0,
      },
    ],
    ...(changed ? { variables: { ...variables } } : {}),
  });
  return ended;
}

/** The client's view of a failure: an LLM error says what the endpoint said; anything else stays inside. */
function toFailure(error: unknown): { code: ErrorCode; message: string; retryable: boolean } {
  const e = error as { code?: unknown; message?: unknown; retryable?: unknown };
  if (e?.code === 'llm_error' && typeof e.message === 'string') {
    return { code: 'llm_error', message: e.message, retryable: e.retryable === true };
  }
  return {
    code: 'internal_error',
    message: 'the run failed inside the runtime; it is logged for the operator',
    retryable: true,
  };
}
