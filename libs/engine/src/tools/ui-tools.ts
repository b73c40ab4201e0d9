// A UI tool's response, when the client sends it: the result of the call the chat waited on.
import { matchesVariableType } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { ChatMessage, LlmToolCall } from '../ports.js';
import type { NextSpeaker, RunContext } from '../run/run-context.js';

/**
 * The client's response to the UI tool the chat waited on becomes that call's result (once, even
 * when this run is started again), and sets the variables its `ui_response` triggers name. When
 * the runtime made the call (auto_tool_mode) the asking agent's turn ends there: returns where the
 * run goes next.
 */
export async function answerUiTool(
  run: RunContext,
  decide: (agent: string) => NextSpeaker | Promise<NextSpeaker>,
): Promise<{ agent: string; next: NextSpeaker } | undefined> {
  const { input, ports, history, variables } = run;
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
  const changed = applyResponseTriggers(input.workflow, call.name, response, variables);
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

/** Sets the variables whose `ui_response` triggers take a key of this tool's response; returns whether any. */
function applyResponseTriggers(
  workflow: WorkflowDefinition,
  tool: string,
  response: Record<string, unknown>,
  variables: Record<string, unknown>,
): boolean {
  let changed = false;
  for (const variable of workflow.context_variables) {
    for (const trigger of variable.triggers ?? []) {
      if (trigger.type !== 'ui_response' || trigger.tool !== tool || !(trigger.response_key in response)) continue;
      const value = response[trigger.response_key];
      if (matchesVariableType(value ?? null, variable.type)) {
        variables[variable.name] = value ?? null;
        changed = true;
      }
    }
  }
  return changed;
}
