// One agent's turn: it replies through the model, runs the tools it calls, and replies again,
// until it answers in words, hands the conversation over, or a UI tool parks the run. Each reply
// is committed before its tools run, so a turn cut short goes on from its last committed step.
import type { EventBody } from '@mozaiks/protocol';
import type { ConversableAgent } from '../conversable-agent.js';
import { beforeSend, updateAgentState } from '../hooks.js';
import type { ChatMessage, LlmResponse, LlmToolCall, RunStep } from '../ports.js';
import { HANDOFF_TOOL, handoffTools } from '../routing.js';
import { checkCancelled } from '../run/cancellation.js';
import type { NextSpeaker, RunContext, TurnEnd } from '../run/run-context.js';
import { MAX_TOOL_ROUNDS_PER_TURN, RunAbortedError } from '../run/run-types.js';
import { autoToolArguments, runTools } from '../tools/run-tools.js';
import { parseArguments, unansweredToolCalls } from '../tools/tool-calls.js';
import { applyTextTriggers } from '../variables.js';
import { checkedStructuredReply } from './structured-reply.js';

/** What the run gives a turn: how to decide where it goes, and where to leave its last step. */
export interface TurnControl {
  /** Where the run goes after this turn, given the handoff the agent chose, if any. */
  decide: (handoff: string | undefined, history: readonly ChatMessage[]) => NextSpeaker | Promise<NextSpeaker>;
  /** Keeps the turn's last step for the run to commit, alone or with the run's end. */
  hold: (step: RunStep) => void;
}

type Handoffs = ReturnType<typeof handoffTools>;

/** The model's answer to one request of the turn, with what the hooks around it did. */
interface ModelAnswer {
  reply: LlmResponse;
  /** The reply's parsed value, for an agent with a structured output. */
  structured: unknown;
  /** Hook failures, told before the reply. */
  told: EventBody[];
  /** A hook set variables. */
  hooksSet: boolean;
  /** Names the hook calls of this reply, the same when the run is started again. */
  hookKey: string;
}

/** A reply as it is written down: the history's entry, its step, and where it leads. */
interface WrittenReply {
  entry: ChatMessage;
  step: RunStep;
  toolCalls: LlmToolCall[];
  /** The agent's last word in its turn. */
  final: boolean;
  next: NextSpeaker | undefined;
  /** Its one tool call was made by the runtime from the structured reply. */
  auto: boolean;
}

/** One agent's turn. Returns where the run goes next, or the UI tool it parked on. */
export async function takeTurn(run: RunContext, agent: ConversableAgent, turn: TurnControl): Promise<TurnEnd> {
  const { history } = run;
  const unanswered = unansweredToolCalls(history, agent.name, run.input.runId);
  if (unanswered.length > 0) {
    // A call the runtime made from a structured output ends the turn with its result.
    const auto = history.some(
      (m) => m.role === 'assistant' && m.auto_tool && m.tool_calls?.some((c) => c.id === unanswered[0]!.id),
    );
    const end = await runTools(run, agent, unanswered, { decide: (t) => turn.decide(t, history), endsTurn: auto });
    if (end.kind !== 'continue') return end;
  }
  const handoffs = handoffTools(run.input.workflow, agent.name);
  for (let round = 0; ; round++) {
    const answer = await askModel(run, agent, round, handoffs);
    const written = await writeReply(run, agent, answer, handoffs, turn);
    // A reply with nothing after it in this turn is the turn's last step.
    if (written.toolCalls.length === 0) turn.hold(written.step);
    else await run.journal.commit(written.step);
    history.push(written.entry);
    if (written.toolCalls.length) {
      const decide = written.final ? {} : { decide: (t: string | undefined) => turn.decide(t, history) };
      const end = await runTools(run, agent, written.toolCalls, { ...decide, endsTurn: written.auto });
      if (end.kind !== 'continue') return end;
    }
    if (written.final) return { kind: 'next', next: written.next ?? null };
  }
}

/** Builds the agent's request for this round, lets its hooks change it, and asks the model. */
async function askModel(
  run: RunContext,
  agent: ConversableAgent,
  round: number,
  handoffs: Handoffs,
): Promise<ModelAnswer> {
  const { input, history, variables, journal } = run;
  if (input.signal?.aborted) throw new RunAbortedError(`run ${input.runId} was stopped`);
  checkCancelled(input);
  const request = agent.buildRequest(history, input.context, variables);
  // In auto_tool_mode the model only answers; the runtime calls the tool with the answer.
  if (agent.definition.auto_tool) request.tools = [];
  const parameters = { type: 'object', properties: {} };
  request.tools.push(...handoffs.map(({ name, description }) => ({ name, description, parameters })));
  // After the last allowed tool round the agent must answer in words.
  const rounds =
    agent.definition.max_consecutive_auto_reply ??
    input.workflow.max_consecutive_auto_reply ??
    MAX_TOOL_ROUNDS_PER_TURN;
  if (round >= rounds) request.tools = [];
  const hookKey = `${history.length}_${round}`;
  const told: EventBody[] = [];
  const hooksSet = await updateAgentState(run, agent, request, hookKey, told);
  const output = agent.definition.structured_output;
  const started = performance.now();
  const reply = await agent.generateReply(request, run.ports.llm, {
    ...(input.callSignal ? { signal: input.callSignal } : {}),
    // A structured reply is shown whole, once checked.
    ...(output
      ? {}
      : {
          onDelta: (delta: string) =>
            journal.live({ type: 'agent_message_delta', run_id: input.runId, agent: agent.name, delta }),
        }),
  });
  journal.count(reply.usage, performance.now() - started);
  if (!output || reply.tool_calls.length > 0) return { reply, structured: undefined, told, hooksSet, hookKey };
  return { ...(await checkedStructuredReply(run, agent, request, reply, output)), told, hooksSet, hookKey };
}

/**
 * The reply as the turn writes it: the termination marker taken off, the send hooks applied, the
 * runtime's own call in auto_tool_mode, the variables its words set, and where it leads.
 */
async function writeReply(
  run: RunContext,
  agent: ConversableAgent,
  answer: ModelAnswer,
  handoffs: Handoffs,
  turn: TurnControl,
): Promise<WrittenReply> {
  const { input, history, variables } = run;
  const { workflow, runId } = input;
  const marker = workflow.termination_marker;
  let content = answer.reply.content;
  let hooksSet = answer.hooksSet;
  const terminates = content !== null && content.trimEnd().endsWith(marker);
  if (terminates) content = content!.trimEnd().slice(0, -marker.length).trimEnd();
  if (content) {
    const sent = await beforeSend(run, agent, content, 'chat_manager', answer.hookKey, answer.told);
    content = sent.message;
    hooksSet ||= sent.changed;
  }
  const autoTool = agent.definition.auto_tool;
  const autoCall =
    autoTool && answer.structured !== undefined && !terminates
      ? {
          id: `auto_${runId}_${history.length}`,
          name: autoTool.name,
          arguments: JSON.stringify(autoToolArguments(autoTool, answer.structured)),
        }
      : undefined;
  const toolCalls = terminates ? [] : autoCall ? [autoCall] : answer.reply.tool_calls;
  const handoff = handoffs.find((h) => toolCalls.some((c) => c.name === h.name))?.target;
  const final = toolCalls.length === 0 || handoff !== undefined;
  // State variables the reply's words set are seen by the handoff conditions of this same turn.
  const triggered = content
    ? applyTextTriggers(workflow, agent.name, content, variables)
    : { changed: false, hidden: false };
  const said: ChatMessage = { role: 'assistant', agent: agent.name, content: content || null };
  const next = terminates ? 'terminate' : final ? await turn.decide(handoff, [...history, said]) : undefined;
  const entry: ChatMessage = {
    ...said,
    ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    ...(final ? { final: true, next: next ?? null } : {}),
    ...(terminates ? { ended: 'terminated' as const } : {}),
    ...(autoCall ? { auto_tool: true as const } : {}),
    run_id: runId,
  };
  const shown = content && !triggered.hidden ? content : undefined;
  const step: RunStep = {
    messages: [entry],
    events: replyEvents(run, agent, answer, shown, toolCalls, handoffs),
    calls: [answer.reply.usage],
    ...(triggered.changed || hooksSet ? { variables: { ...variables } } : {}),
  };
  return { entry, step, toolCalls, final, next, auto: autoCall !== undefined };
}

/** What the client is told of a reply: hook failures, the words it sees, and the tools called (handoffs aside). */
function replyEvents(
  run: RunContext,
  agent: ConversableAgent,
  answer: ModelAnswer,
  shown: string | undefined,
  toolCalls: LlmToolCall[],
  handoffs: Handoffs,
): EventBody[] {
  const runId = run.input.runId;
  const events: EventBody[] = [...answer.told];
  if (shown !== undefined) {
    const structured = answer.structured === undefined ? {} : { structured: answer.structured };
    events.push({ type: 'agent_message', run_id: runId, agent: agent.name, content: shown, ...structured });
  }
  for (const call of toolCalls) {
    if (call.name.startsWith(HANDOFF_TOOL) && handoffs.some((h) => h.name === call.name)) continue;
    const args = parseArguments(call.arguments).args;
    events.push({
      type: 'tool_call',
      run_id: runId,
      agent: agent.name,
      tool_call_id: call.id,
      name: call.name,
      arguments: args,
    });
  }
  return events;
}
