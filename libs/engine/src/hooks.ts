// Hooks and lifecycle tools: functions of the workflow's that run in the tool-runner around an
// agent's reply (update_agent_state, process_message_before_send) and at points of the chat.
// A failure is told in a `hook` event and the run goes on.
import type { EventBody, HookEvent } from '@mozaiks/protocol';
import type { HookDefinition, LifecycleToolDefinition, WorkflowDefinition } from '@mozaiks/workflows';
import type { ConversableAgent } from './conversable-agent.js';
import type { LlmRequest, RunStep, ToolOutcome } from './ports.js';
import { checkCancelled, untilCancelled } from './run/cancellation.js';
import type { RunContext } from './run/run-context.js';
import { setVariables } from './variables.js';

/** What the client is told of a hook or lifecycle tool call. */
export function hookEvent(
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
export async function runLifecycle(
  run: RunContext,
  trigger: LifecycleToolDefinition['trigger'],
  agent: string | undefined,
  turn: number,
): Promise<RunStep | undefined> {
  const { input, ports, variables } = run;
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
export async function updateAgentState(
  run: RunContext,
  agent: ConversableAgent,
  request: LlmRequest,
  key: string,
  told: EventBody[],
): Promise<boolean> {
  const { input } = run;
  const hooks = hooksOf(input.workflow, 'update_agent_state', agent.name);
  const base = agent.definition.system_message;
  let system = base;
  let changed = false;
  const messages = hooks.length ? request.messages.filter((m) => m.role !== 'system') : [];
  for (const [i, { tool }] of hooks.entries()) {
    const args = { agent: { name: agent.name, system_message: system }, messages };
    const called = await callHook(run, agent, 'update_agent_state', tool, `state_${key}_${i}`, args, told);
    if (!called) continue;
    const returned = (called.result as { system_message?: unknown } | null)?.system_message;
    if (typeof returned === 'string') system = returned;
    if (called.changed) changed = true;
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
export async function beforeSend(
  run: RunContext,
  agent: ConversableAgent,
  content: string,
  recipient: string,
  key: string,
  told: EventBody[],
): Promise<{ message: string; changed: boolean }> {
  const { input } = run;
  let message = content;
  let changed = false;
  for (const [i, { tool }] of hooksOf(input.workflow, 'process_message_before_send', agent.name).entries()) {
    const args = {
      sender: { name: agent.name, system_message: agent.definition.system_message },
      message,
      recipient: { name: recipient },
      silent: false,
    };
    const called = await callHook(run, agent, 'process_message_before_send', tool, `send_${key}_${i}`, args, told);
    if (!called) continue;
    // A hook returns the message as a string, or as a dict with its content.
    const returned = (called.result as { message?: unknown } | null)?.message;
    if (typeof returned === 'string') message = returned;
    else if (
      typeof returned === 'object' &&
      returned !== null &&
      typeof (returned as { content?: unknown }).content === 'string'
    )
      message = (returned as { content: string }).content;
    if (called.changed) changed = true;
  }
  return { message, changed };
}

/**
 * Calls one of the agent's hooks in the tool-runner with the run's variables. A failure is told in
 * `told` (undefined is returned); on success, the variables it set are kept.
 */
async function callHook(
  run: RunContext,
  agent: ConversableAgent,
  hook: HookDefinition['type'],
  tool: HookDefinition['tool'],
  callId: string,
  args: Record<string, unknown>,
  told: EventBody[],
): Promise<{ result: unknown; changed: boolean } | undefined> {
  const { input, ports, variables } = run;
  const outcome = await untilCancelled(
    input,
    ports.tools.invoke({ tool, agent: agent.name, tool_call_id: callId, args, variables: { ...variables }, hook }),
  );
  if (!outcome.ok) {
    told.push(hookEvent(input.runId, hook, agent.name, tool.name, outcome));
    return undefined;
  }
  return { result: outcome.result, changed: setVariables(input.workflow, outcome.variables, variables) };
}
