// One execution of a workflow: the user's message goes into the chat, then agents take turns as
// the pattern says, each replying through the LLM and calling its tools, until the run ends.
import type { CompletionReason, ErrorCode, LlmCallUsage } from '@mozaiks/protocol';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import { ConversableAgent } from './conversable-agent.js';
import { createPattern } from './default-pattern.js';
import type { ChatMessage, ChatState, EventSink, LlmClient, LlmToolCall, ToolInvoker } from './ports.js';

/** Tool rounds one agent turn may take before the agent must answer in words. */
export const MAX_TOOL_ROUNDS_PER_TURN = 10;

export interface RunPorts {
  llm: LlmClient;
  tools: ToolInvoker;
  events: EventSink;
  chat: ChatState;
}

export interface RunInput {
  workflow: WorkflowDefinition;
  runId: string;
  /** The user's message that starts the run. */
  userMessage: string;
  /** Shown to the agents when given (CONTEXT_AWARE). */
  context?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface RunOutcome {
  status: 'completed' | 'failed';
  reason: CompletionReason;
  turns: number;
  /** Every LLM call made, with the endpoint's token counts. */
  calls: LlmCallUsage[];
  duration_ms: number;
  /** What made the run fail, for the caller's log (the client sees a sanitised error event). */
  error?: unknown;
}

/** Runs the workflow for one user message. Never throws for LLM or tool failures: they become events. */
export async function runWorkflow(input: RunInput, ports: RunPorts): Promise<RunOutcome> {
  const started = performance.now();
  const { workflow, runId } = input;
  const agents = new Map(workflow.agents.map((a) => [a.name, new ConversableAgent(a)]));
  const pattern = createPattern(workflow);
  const calls: LlmCallUsage[] = [];
  const spoken: string[] = [];

  const history = await ports.chat.load();
  const userEntry: ChatMessage = { role: 'user', content: input.userMessage };
  await ports.chat.append([userEntry]);
  history.push(userEntry);

  let reason: CompletionReason = 'agents_done';
  let status: RunOutcome['status'] = 'completed';
  let failure: unknown;
  try {
    for (;;) {
      const next = pattern.nextSpeaker(spoken);
      if (next === null) break;
      if (spoken.length >= workflow.max_turns) {
        reason = 'max_turns';
        break;
      }
      const agent = agents.get(next)!;
      const ended = await takeTurn(agent, { input, ports, history, calls });
      spoken.push(next);
      if (ended) {
        reason = 'terminated';
        break;
      }
    }
  } catch (error) {
    status = 'failed';
    reason = 'error';
    failure = error;
    await ports.events.emit({ type: 'error', run_id: runId, ...toFailure(error) });
  }

  const duration_ms = performance.now() - started;
  await ports.events.emit({
    type: 'workflow_complete',
    run_id: runId,
    workflow_id: workflow.id,
    status,
    reason,
    turns: spoken.length,
    duration_ms,
  });
  return { status, reason, turns: spoken.length, calls, duration_ms, ...(failure === undefined ? {} : { error: failure }) };
}

interface TurnScope {
  input: RunInput;
  ports: RunPorts;
  history: ChatMessage[];
  calls: LlmCallUsage[];
}

/** One agent's turn: reply, run any tools it calls, reply again. Returns true if it ended the run. */
async function takeTurn(agent: ConversableAgent, { input, ports, history, calls }: TurnScope): Promise<boolean> {
  const { workflow, runId } = input;
  for (let round = 0; ; round++) {
    const request = agent.buildRequest(history, input.context);
    // After the last allowed tool round the agent must answer in words.
    if (round >= MAX_TOOL_ROUNDS_PER_TURN) request.tools = [];
    const reply = await ports.llm.complete(request, input.signal);
    calls.push(reply.usage);

    const marker = workflow.termination_marker;
    let content = reply.content;
    const terminates = content !== null && content.trimEnd().endsWith(marker);
    if (terminates) content = content!.trimEnd().slice(0, -marker.length).trimEnd();

    const toolCalls = terminates ? [] : reply.tool_calls;
    const entry: ChatMessage = { role: 'assistant', agent: agent.name, content: content || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
    if (content) await ports.events.emit({ type: 'agent_message', run_id: runId, agent: agent.name, content });
    if (toolCalls.length === 0) {
      await ports.chat.append([entry]);
      history.push(entry);
      return terminates;
    }
    const results = await runTools(agent, toolCalls, input, ports);
    await ports.chat.append([entry, ...results]);
    history.push(entry, ...results);
  }
}

/** Runs one reply's tool calls in parallel and returns their results in the order called. */
async function runTools(agent: ConversableAgent, toolCalls: LlmToolCall[], input: RunInput, ports: RunPorts): Promise<ChatMessage[]> {
  const prepared = toolCalls.map((call) => {
    const tool = agent.definition.tools.find((t) => t.name === call.name && t.tool_type === 'Agent_Tool');
    let args: Record<string, unknown> = {};
    let problem: string | undefined = tool ? undefined : `agent ${agent.name} has no tool named "${call.name}"`;
    if (!problem) {
      try {
        const parsed: unknown = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
        else problem = 'tool arguments must be a JSON object';
      } catch {
        problem = 'tool arguments are not valid JSON';
      }
    }
    return { call, tool, args, problem };
  });
  for (const p of prepared) {
    await ports.events.emit({ type: 'tool_call', run_id: input.runId, agent: agent.name, tool_call_id: p.call.id, name: p.call.name, arguments: p.args });
  }
  const outcomes = await Promise.all(
    prepared.map((p) =>
      p.tool && !p.problem
        ? ports.tools.invoke({ tool: p.tool, agent: agent.name, tool_call_id: p.call.id, args: p.args })
        : Promise.resolve({ ok: false as const, error: { code: 'invalid_tool_call', message: p.problem! }, duration_ms: 0 }),
    ),
  );
  const results: ChatMessage[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const { call } = prepared[i]!;
    await ports.events.emit({
      type: 'tool_result',
      run_id: input.runId,
      agent: agent.name,
      tool_call_id: call.id,
      name: call.name,
      ...(outcome.ok ? { ok: true, result: outcome.result } : { ok: false, error: outcome.error }),
      duration_ms: outcome.duration_ms,
    });
    results.push({
      role: 'tool',
      agent: agent.name,
      tool_call_id: call.id,
      name: call.name,
      content: JSON.stringify(outcome.ok ? outcome.result ?? null : { error: outcome.error }),
    });
  }
  return results;
}

/** The client's view of a failure: an LLM error says what the endpoint said; anything else stays inside. */
function toFailure(error: unknown): { code: ErrorCode; message: string; retryable: boolean } {
  const e = error as { code?: unknown; message?: unknown; retryable?: unknown };
  if (e?.code === 'llm_error' && typeof e.message === 'string') {
    return { code: 'llm_error', message: e.message, retryable: e.retryable === true };
  }
  return { code: 'internal_error', message: 'the run failed inside the runtime; it is logged for the operator', retryable: true };
}
