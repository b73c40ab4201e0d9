// What a run is given and what it gives back: its input, the ports it talks to the world through,
// and its outcome.
import type { CompletionReason, LlmCallUsage } from '@mozaiks/protocol';
import type { AgentDefinition, WorkflowDefinition } from '@mozaiks/workflows';
import type { ConversableAgent } from '../conversable-agent.js';
import type { LlmClient, RunJournal, ToolInvoker } from '../ports.js';

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

/** A run as its steps see it: the input, and the signal its LLM calls stop on (a hand-back or a cancel). */
export type RunScope = RunInput & { readonly callSignal?: AbortSignal };

/** The input with the signal that stops its LLM calls: either of its two signals. */
export function runScope(input: RunInput): RunScope {
  const signals = [input.signal, input.cancel].filter((s): s is AbortSignal => s !== undefined);
  if (signals.length === 0) return input;
  return { ...input, callSignal: signals.length > 1 ? AbortSignal.any(signals) : signals[0]! };
}
