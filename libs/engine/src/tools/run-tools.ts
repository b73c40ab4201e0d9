// Running a round of an agent's tool calls: in parallel, in the tool-runner (never here), their
// results committed in the order called with the variables they set. A handoff tool is the
// engine's own business; a UI tool is not run but shown to the client, and the run parks on it.
import type { EventBody } from '@mozaiks/protocol';
import type { ToolDefinition } from '@mozaiks/workflows';
import type { ConversableAgent } from '../conversable-agent.js';
import type { ChatMessage, LlmToolCall, ToolOutcome } from '../ports.js';
import { handoffTools } from '../routing.js';
import { checkCancelled, untilCancelled } from '../run/cancellation.js';
import type { NextSpeaker, ParkedUiTool, RunContext, TurnEnd } from '../run/run-context.js';
import { TOOL_CONTEXT_KEY, setVariables } from '../variables.js';
import { parseArguments } from './tool-calls.js';

/** Key of a tool result's handoff: `{"$handoff": "Validator"}` (an agent, `user` or `terminate`). */
export const TOOL_HANDOFF_KEY = '$handoff';

/** How a round of tool calls ended: the turn goes on, or it ended (a handoff, a UI tool). */
export type ToolRoundEnd = { kind: 'continue' } | TurnEnd;

export interface ToolRoundOptions {
  /**
   * Where the run goes, given the handoff a tool chose; when given, a tool's handoff ends the turn
   * (with no handoff, so does `endsTurn`).
   */
  decide?: (target: string | undefined) => NextSpeaker | Promise<NextSpeaker>;
  /** The round ends the turn whatever the tools say (a call the runtime made in auto_tool_mode). */
  endsTurn?: boolean;
}

type CallOutcome = ToolOutcome & { internal?: true; waits?: true };
type ShownUiTool = { call: LlmToolCall; tool: ToolDefinition; args: Record<string, unknown> };

/** Runs the calls and commits their results; says whether the turn goes on. */
export async function runTools(
  run: RunContext,
  agent: ConversableAgent,
  toolCalls: LlmToolCall[],
  options: ToolRoundOptions = {},
): Promise<ToolRoundEnd> {
  checkCancelled(run.input);
  const { outcomes, shown } = await startCalls(run, agent, toolCalls);
  const { changed, handoff } = applyResults(run, outcomes);
  const { results, events } = resultMessages(run, agent, toolCalls, outcomes);
  // A UI tool's turn ends when its response comes.
  const { decide, endsTurn = false } = options;
  const next = decide && (handoff !== undefined || (endsTurn && !shown)) ? await decide(handoff) : undefined;
  const last = results.at(-1);
  if (next !== undefined && last?.role === 'tool') last.ends_turn = { next };
  if (results.length || changed) {
    await run.journal.commit({ messages: results, events, ...(changed ? { variables: { ...run.variables } } : {}) });
  }
  run.history.push(...results);
  if (shown) return { kind: 'parked', parked: parkedOn(run, agent, shown) };
  return next === undefined ? { kind: 'continue' } : { kind: 'next', next };
}

/** Starts every call at once; a UI tool is not run (one per round), a handoff answers itself. */
async function startCalls(
  run: RunContext,
  agent: ConversableAgent,
  toolCalls: LlmToolCall[],
): Promise<{ outcomes: CallOutcome[]; shown: ShownUiTool | undefined }> {
  const handoffs = handoffTools(run.input.workflow, agent.name);
  let shown: ShownUiTool | undefined;
  const start = (call: LlmToolCall): Promise<CallOutcome> => {
    const handoff = handoffs.find((h) => h.name === call.name);
    if (handoff) {
      return Promise.resolve({ ok: true, result: { handed_over_to: handoff.target }, duration_ms: 0, internal: true });
    }
    const tool = agent.definition.tools.find((t) => t.name === call.name);
    const { args, problem } = parseArguments(call.arguments);
    let invalid = tool ? problem : `agent ${agent.name} has no tool named "${call.name}"`;
    if (tool?.tool_type === 'UI_Tool' && !invalid) {
      if (!shown) {
        shown = { call, tool, args };
        return Promise.resolve({ ok: true, result: null, duration_ms: 0, waits: true });
      }
      invalid = `one UI tool at a time: ${shown.tool.name} is waiting for the user; call ${call.name} after it`;
    }
    if (!tool || invalid) {
      return Promise.resolve({ ok: false, error: { code: 'invalid_tool_call', message: invalid! }, duration_ms: 0 });
    }
    const variables = tool.takes_context ? { variables: { ...run.variables } } : {};
    return run.ports.tools.invoke({ tool, agent: agent.name, tool_call_id: call.id, args, ...variables });
  };
  const outcomes = await untilCancelled(run.input, Promise.all(toolCalls.map(start)));
  return { outcomes, shown };
}

/** Keeps what the tools set in the variables; returns whether any did, and the first valid handoff a tool chose. */
function applyResults(run: RunContext, outcomes: CallOutcome[]): { changed: boolean; handoff: string | undefined } {
  const { workflow } = run.input;
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
    const updates = {
      ...(typeof returned === 'object' && returned !== null ? returned : {}),
      ...('variables' in outcome ? outcome.variables : {}),
    };
    if (setVariables(workflow, updates, run.variables)) changed = true;
    const target = result[TOOL_HANDOFF_KEY];
    const valid =
      typeof target === 'string' &&
      (target === 'user' || target === 'terminate' || workflow.agents.some((a) => a.name === target));
    if (valid && handoff === undefined) handoff = target;
  }
  return { changed, handoff };
}

/** The history's tool messages and the client's `tool_result` events of a round, in the order called. */
function resultMessages(
  run: RunContext,
  agent: ConversableAgent,
  toolCalls: LlmToolCall[],
  outcomes: CallOutcome[],
): { results: ChatMessage[]; events: EventBody[] } {
  const runId = run.input.runId;
  const results: ChatMessage[] = [];
  const events: EventBody[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const call = toolCalls[i]!;
    if ('waits' in outcome) continue;
    // A handoff is the engine's own business, not a tool the client sees run.
    if (!('internal' in outcome)) {
      events.push({
        type: 'tool_result',
        run_id: runId,
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
      run_id: runId,
    });
  }
  return { results, events };
}

/** The UI tool the run stops at, and the event that shows it to the client. */
function parkedOn(run: RunContext, agent: ConversableAgent, { call, tool, args }: ShownUiTool): ParkedUiTool {
  const runId = run.input.runId;
  return {
    request: { request_id: `ui_${runId}_${call.id}`.slice(0, 200), agent: agent.name, tool_call_id: call.id },
    event: {
      type: 'ui_tool',
      run_id: runId,
      agent: agent.name,
      tool_call_id: call.id,
      name: tool.name,
      component: tool.ui?.component ?? tool.name,
      display: tool.ui?.display ?? 'inline',
      payload: args,
    },
  };
}

/**
 * The arguments of an auto_tool_mode call: each key of the structured output given to the
 * parameter of the same name (case, `_` and `-` aside); the whole output when the tool declares no
 * parameters. The chat's ids reach a tool through its context variables.
 */
export function autoToolArguments(tool: ToolDefinition, structured: unknown): Record<string, unknown> {
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
